// markdown.js: model output and prompts rendered as readable Markdown,
// safely. The text is untrusted, so this never parses HTML: it builds DOM
// nodes and sets only textContent. Covered: fenced code blocks, headings,
// lists, paragraphs, `inline code`, **bold** and *emphasis*. Anything else
// (raw HTML included) is shown as the text it is.

function inline(parent, text) {
  // Split on code spans first: nothing inside them is interpreted.
  const parts = text.split(/(`[^`\n]+`)/);
  for (const part of parts) {
    if (part.length > 2 && part.startsWith('`') && part.endsWith('`')) {
      const code = document.createElement('code');
      code.textContent = part.slice(1, -1);
      parent.append(code);
      continue;
    }
    const re = /(\*\*[^*\n]+\*\*|\*[^*\n]+\*)/g;
    let last = 0, m;
    while ((m = re.exec(part)) !== null) {
      parent.append(document.createTextNode(part.slice(last, m.index)));
      const bold = m[0].startsWith('**');
      const el = document.createElement(bold ? 'strong' : 'em');
      el.textContent = m[0].slice(bold ? 2 : 1, bold ? -2 : -1);
      parent.append(el);
      last = m.index + m[0].length;
    }
    parent.append(document.createTextNode(part.slice(last)));
  }
}

export function renderMarkdown(text) {
  const root = document.createDocumentFragment();
  const lines = String(text).replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s*(```+|~~~+)\s*([\w+-]*)/);
    if (fence) {
      const pre = document.createElement('pre');
      const code = document.createElement('code');
      if (fence[2]) code.dataset.lang = fence[2];
      const body = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(fence[1]); i++) body.push(lines[i]);
      i++; // the closing fence (or the end)
      code.textContent = body.join('\n');
      pre.append(code);
      root.append(pre);
      continue;
    }
    if (line.trim() === '') { i++; continue; }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    if (heading) {
      // Headings inside a response stay below the page's own.
      const h = document.createElement(`h${Math.min(6, heading[1].length + 2)}`);
      inline(h, heading[2]);
      root.append(h);
      i++;
      continue;
    }
    const item = /^\s*([-*+]|\d+[.)])\s+/;
    if (item.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = document.createElement(ordered ? 'ol' : 'ul');
      while (i < lines.length && item.test(lines[i])) {
        const li = document.createElement('li');
        inline(li, lines[i].replace(item, ''));
        list.append(li);
        i++;
      }
      root.append(list);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() !== '' && !/^\s*(```|~~~)/.test(lines[i]) &&
           !/^#{1,6}\s/.test(lines[i]) && !item.test(lines[i])) {
      para.push(lines[i]);
      i++;
    }
    const p = document.createElement('p');
    para.forEach((l, k) => {
      if (k > 0) p.append(document.createElement('br'));
      inline(p, l);
    });
    root.append(p);
  }
  return root;
}

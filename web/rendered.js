// rendered.js: Markdown rendered by the server (src/markdown.c: cmark-gfm,
// raw HTML dropped, unsafe links emptied, rel="noopener noreferrer" on
// links, dir="auto" on blocks), the only HTML these pages insert. Code
// blocks get their language as a caption and a Copy button.

export function rendered(html) {
  const div = document.createElement('div');
  div.className = 'md';
  div.innerHTML = html;
  for (const pre of div.querySelectorAll('pre')) {
    const bar = document.createElement('div');
    bar.className = 'code-bar';
    const lang = document.createElement('span');
    lang.className = 'code-lang';
    lang.textContent = pre.getAttribute('lang') || 'text';
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'code-copy';
    copy.textContent = 'Copy';
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(pre.textContent);
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Select and copy';
      }
      setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
    });
    bar.append(lang, copy);
    const box = document.createElement('div');
    box.className = 'code-block';
    pre.replaceWith(box);
    box.append(bar, pre);
  }
  return div;
}

// dom.js: building elements without HTML strings: text goes in as
// textContent, never parsed, so untrusted values cannot become markup.

// el('a', {class: 'button', href: '/x', text: 'Go', onclick: f}, ...children)
export const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
};

// The element with this id.
export const $ = (id) => document.getElementById(id);

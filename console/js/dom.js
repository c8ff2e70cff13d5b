/**
 * Building DOM without innerHTML (nothing the server sends is ever parsed as HTML).
 *
 *   h('li', {class: 'row', data: {assignmentId: id}, onclick: select}, h('b', {}, number), ' ', name)
 *
 * props: `class` (string or array, falsy entries skipped), `data` (dataset entries),
 * `on<event>` (listeners), `text`, any other key as an attribute (`true` = present,
 * `false`/`null`/`undefined` = absent). Children: nodes, strings, numbers, arrays; null and
 * false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') {
      const names = (Array.isArray(value) ? value : [value]).filter(Boolean);
      if (names.length) element.className = names.join(' ');
    } else if (key === 'data') {
      for (const [name, item] of Object.entries(value)) {
        if (item !== null && item !== undefined) element.dataset[name] = String(item);
      }
    } else if (key === 'text') {
      element.textContent = value;
    } else if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2), value);
    } else if (value === true) {
      element.setAttribute(key, '');
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(key, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replace the children of `element`. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** The element with `id`, or an error that names it (a page's markup and script disagree). */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`no element #${id} on this page`);
  return element;
}

/** True when a key press is typing into a field (shortcuts must leave it alone). */
export function isTyping(event) {
  const target = event.target;
  return target instanceof HTMLElement
    && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

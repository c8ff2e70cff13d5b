/**
 * The operator's keyboard shortcuts: one table, used both by the key handler and by the list
 * of shortcuts shown on the page. They work from any field (the operator is always typing
 * somewhere), so they use Ctrl, Alt or function keys, never a plain letter. Alt+letter is
 * matched on the physical key (event.code), whatever the keyboard layout types.
 */
const alt = (code) => (event) => event.altKey && !event.ctrlKey && !event.metaKey && event.code === code;
const functionKey = (key) => (event) => !event.altKey && !event.ctrlKey && !event.metaKey && event.key === key;

export const SHORTCUTS = [
  { id: 'submit', keys: ['Ctrl', 'Enter'], text: 'operator.shortcut_submit',
    match: (event) => (event.ctrlKey || event.metaKey) && event.key === 'Enter' },
  { id: 'prank', keys: ['F2'], text: 'disposition.prank', match: functionKey('F2') },
  { id: 'ghost', keys: ['F3'], text: 'disposition.ghost', match: functionKey('F3') },
  { id: 'info', keys: ['F4'], text: 'disposition.info', match: functionKey('F4') },
  { id: 'caller_number', keys: ['Alt', 'N'], text: 'operator.caller_number', match: alt('KeyN') },
  { id: 'address', keys: ['Alt', 'A'], text: 'operator.address', match: alt('KeyA') },
  { id: 'lat', keys: ['Alt', 'O'], text: 'operator.coordinates', match: alt('KeyO') },
  { id: 'category', keys: ['Alt', 'K'], text: 'operator.category', match: alt('KeyK') },
  { id: 'priority', keys: ['Alt', '1…4'], text: 'operator.priority',
    match: (event) => event.altKey && !event.ctrlKey && !event.metaKey && /^(Digit|Numpad)[1-4]$/.test(event.code) },
  { id: 'description', keys: ['Alt', 'R'], text: 'operator.description', match: alt('KeyR') },
  { id: 'link', keys: ['Alt', 'T'], text: 'operator.shortcut_link', match: alt('KeyT') },
  { id: 'new', keys: ['Alt', 'B'], text: 'operator.shortcut_new', match: alt('KeyB') },
];

/** The shortcut a key press means, or null. */
export function shortcutFor(event) {
  return SHORTCUTS.find((shortcut) => shortcut.match(event)) ?? null;
}

/** The keys of a shortcut as the page shows them ("Alt+N"). */
export function keysOf(id) {
  return SHORTCUTS.find((shortcut) => shortcut.id === id)?.keys.join('+') ?? '';
}

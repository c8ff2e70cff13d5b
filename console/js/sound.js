/**
 * The alert sound: a short two-tone beep made with Web Audio (no sound file to ship).
 * Browsers let a page play sound only after the user has clicked or pressed a key on it,
 * so the sound is "armed" by the first click or key press; until then the page shows a
 * hint (`armSound(onArmed)` calls back once armed).
 */
let context = null;

export function soundArmed() {
  return context !== null && context.state === 'running';
}

export function armSound(onArmed) {
  const arm = () => {
    window.removeEventListener('pointerdown', arm, true);
    window.removeEventListener('keydown', arm, true);
    try {
      context = new AudioContext();
      context.resume().then(() => onArmed(true), () => onArmed(false));
    } catch {
      onArmed(false); // no audio device: the visual flash still shows
    }
  };
  window.addEventListener('pointerdown', arm, true);
  window.addEventListener('keydown', arm, true);
}

/** Two short tones; does nothing before the sound is armed. */
export function beep() {
  if (!soundArmed()) return false;
  const start = context.currentTime;
  for (const [offset, frequency] of [[0, 880], [0.18, 1175]]) {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = 'sine';
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.15);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(start + offset);
    oscillator.stop(start + offset + 0.16);
  }
  return true;
}

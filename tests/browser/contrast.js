// Evaluated by tests/browser/test_accessibility.py: WCAG contrast of a control's border (unfocused)
// and of its focus indicator (focused), both against the page background.
(async (selector) => {
  const el = document.querySelector(selector);
  // Pico animates borders and shadows: read them once a transition has ended
  const settled = () => Promise.all(el.getAnimations().map((animation) => animation.finished));
  const parse = (text) => {
    const m = text.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a] = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return [r, g, b, a === undefined ? 1 : a];
  };
  const over = (top, bottom) => top.slice(0, 3).map((c, i) => c * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (x, y) => { const [a, b] = [lum(x), lum(y)].sort((p, q) => q - p); return (a + 0.05) / (b + 0.05); };
  const page = parse(getComputedStyle(document.body).backgroundColor);
  el.blur();
  await settled();
  let style = getComputedStyle(el);
  const border = over(parse(style.borderTopColor), page);
  const own = over(parse(style.backgroundColor) || [0, 0, 0, 0], page);
  el.focus();
  await settled();
  style = getComputedStyle(el);
  const ring = [];
  if (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) ring.push(parse(style.outlineColor));
  for (const m of style.boxShadow.matchAll(/rgba?\([^)]+\)[^,]*?(-?[\d.]+)px\s*(?:,|$)/g)) {
    if (parseFloat(m[1]) > 0) ring.push(parse(m[0]));  // a spread ring, not a soft shadow
  }
  return {
    border: Math.min(ratio(border, page), ratio(border, own)),
    ring: ring.length ? Math.max(...ring.map((c) => ratio(over(c, page), page))) : 0,
  };
})

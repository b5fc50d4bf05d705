// The 12-lead viewer: SVG on a millimetre grid. Standard 3 x 4 layout (2.5 s per lead) with a
// 10 s rhythm strip of lead II, or one lead over the whole window; 25 or 50 mm/s, 5, 10 or
// 20 mm/mV; calipers (two clicks: interval in ms, the rate it implies, amplitude in mV).
// Samples come from the scoped API as little-endian int32 microvolts, lead after lead.
(function () {
  "use strict";
  const root = document.querySelector("[data-testid=ecg-viewer]");
  if (!root) return;
  const SVG = "http://www.w3.org/2000/svg";
  const LAYOUT = [["I", "aVR", "V1", "V4"], ["II", "aVL", "V2", "V5"], ["III", "aVF", "V3", "V6"]];
  const ROW_MM = 25; // one lead row: +-12.5 mm around its baseline
  const leads = root.dataset.leads.split(",");
  const rate = parseFloat(root.dataset.rate);
  const duration = parseFloat(root.dataset.duration);
  const state = { layout: "12", lead: leads.includes("II") ? "II" : leads[0], speed: 25, gain: 10,
                  start: 0, calipers: false, marks: [], data: null, first: 0, perLead: 0 };
  const readout = document.querySelector("[data-testid=ecg-caliper-readout]");

  function el(name, attrs) {
    const node = document.createElementNS(SVG, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    return node;
  }

  function seconds() {
    // The window fetched: 10 s (the 12-lead page), or what a single lead shows at this speed.
    return state.layout === "12" ? 10 : (state.speed === 50 ? 5 : 10);
  }

  async function load() {
    const url = `${root.dataset.samplesUrl}?start=${state.start}&seconds=${seconds()}`;
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) { root.textContent = `${response.status}`; return; }
    const buffer = await response.arrayBuffer();
    state.data = new Int32Array(buffer);
    state.first = parseInt(response.headers.get("X-First-Sample") || "0", 10);
    state.perLead = parseInt(response.headers.get("X-Samples-Per-Lead") || "0", 10);
    draw();
  }

  function lead(name) {
    const index = leads.indexOf(name);
    if (index < 0 || !state.data) return null;
    return state.data.subarray(index * state.perLead, (index + 1) * state.perLead);
  }

  function grid(svg, widthMm, heightMm) {
    const defs = el("defs", {});
    const small = el("pattern", { id: "ecg-mm", width: 1, height: 1, patternUnits: "userSpaceOnUse" });
    small.appendChild(el("path", { d: "M 1 0 L 0 0 0 1", fill: "none", stroke: "#f7c6c6", "stroke-width": 0.08 }));
    const big = el("pattern", { id: "ecg-5mm", width: 5, height: 5, patternUnits: "userSpaceOnUse" });
    big.appendChild(el("rect", { width: 5, height: 5, fill: "url(#ecg-mm)" }));
    big.appendChild(el("path", { d: "M 5 0 L 0 0 0 5", fill: "none", stroke: "#ee8f8f", "stroke-width": 0.18 }));
    defs.appendChild(small); defs.appendChild(big); svg.appendChild(defs);
    svg.appendChild(el("rect", { width: widthMm, height: heightMm, fill: "url(#ecg-5mm)" }));
  }

  // One trace: samples [from, from + count) of a lead, drawn from x0 (mm) on a baseline (mm).
  function trace(svg, samples, from, count, x0, baseline, label) {
    if (!samples) return;
    const end = Math.min(samples.length, from + count);
    const mmPerSample = state.speed / rate;
    const step = Math.max(1, Math.floor(rate / (state.speed * 8)));
    const parts = [];
    for (let i = from; i < end; i += step) {
      const x = x0 + (i - from) * mmPerSample;
      const y = baseline - (samples[i] / 1000) * state.gain;
      parts.push(`${x.toFixed(2)},${y.toFixed(2)}`);
    }
    svg.appendChild(el("polyline", { points: parts.join(" "), fill: "none", stroke: "#111", "stroke-width": 0.22,
                                     "stroke-linejoin": "round", "data-lead": label }));
    const text = el("text", { x: x0 + 1, y: baseline - 8, "font-size": 3, fill: "#333" });
    text.textContent = label;
    svg.appendChild(text);
  }

  // A 1 mV calibration pulse at the left of a row (10 mm high at 10 mm/mV).
  function pulse(svg, baseline) {
    const h = state.gain, w = 0.2 * state.speed;
    svg.appendChild(el("polyline", { points: `0,${baseline} 1,${baseline} 1,${baseline - h} ${1 + w},${baseline - h} ${1 + w},${baseline} ${2 + w},${baseline}`,
                                     fill: "none", stroke: "#111", "stroke-width": 0.22 }));
  }

  function draw() {
    root.textContent = "";
    const perColumnS = 2.5 * (25 / state.speed);
    const widthMm = state.layout === "12" ? 4 * perColumnS * state.speed + 6 : seconds() * state.speed + 6;
    const rows = state.layout === "12" ? 4 : 1;
    const rowMm = ROW_MM * (state.gain / 10) < ROW_MM ? ROW_MM : ROW_MM * (state.gain / 10);
    const heightMm = rows * rowMm;
    const svg = el("svg", { viewBox: `0 0 ${widthMm} ${heightMm}`, "data-testid": "ecg-svg",
                            "data-layout": state.layout, "data-speed": state.speed, "data-gain": state.gain });
    // At least 3 px per mm, so that a phone scrolls sideways instead of shrinking the grid.
    const pxPerMm = Math.max(3, root.clientWidth / widthMm);
    svg.setAttribute("width", (widthMm * pxPerMm).toFixed(0));
    svg.setAttribute("height", (heightMm * pxPerMm).toFixed(0));
    grid(svg, widthMm, heightMm);
    const perColumn = Math.round(perColumnS * rate);
    if (state.layout === "12") {
      LAYOUT.forEach((row, r) => {
        const baseline = rowMm * (r + 0.5);
        pulse(svg, baseline);
        row.forEach((name, c) => trace(svg, lead(name), c * perColumn, perColumn, 6 + c * perColumnS * state.speed, baseline, name));
      });
      const strip = leads.includes("II") ? "II" : leads[0];
      pulse(svg, rowMm * 3.5);
      trace(svg, lead(strip), 0, 4 * perColumn, 6, rowMm * 3.5, strip);
    } else {
      pulse(svg, rowMm * 0.5);
      trace(svg, lead(state.lead), 0, Math.round(seconds() * rate), 6, rowMm * 0.5, state.lead);
    }
    svg.addEventListener("click", (event) => caliper(svg, event));
    root.appendChild(svg);
    state.marks = [];
  }

  function caliper(svg, event) {
    if (!state.calipers) return;
    const point = svg.createSVGPoint();
    point.x = event.clientX; point.y = event.clientY;
    const mm = point.matrixTransform(svg.getScreenCTM().inverse());
    state.marks.push(mm);
    svg.appendChild(el("line", { x1: mm.x, x2: mm.x, y1: 0, y2: svg.viewBox.baseVal.height, stroke: "#0d6efd",
                                 "stroke-width": 0.25, "class": "ecg-caliper" }));
    if (state.marks.length === 2) {
      const [a, b] = state.marks;
      const ms = Math.abs(b.x - a.x) / state.speed * 1000;
      const mv = Math.abs(b.y - a.y) / state.gain;
      const bpm = ms > 0 ? 60000 / ms : 0;
      readout.textContent = `Δt ${ms.toFixed(0)} ms · ${bpm.toFixed(0)} bpm · Δ ${mv.toFixed(2)} mV`;
      readout.dataset.ms = ms.toFixed(0);
      state.marks = [];
      svg.querySelectorAll(".ecg-caliper").forEach((line, i, all) => { if (i < all.length - 2) line.remove(); });
    }
  }

  document.querySelectorAll("[data-layout]").forEach((button) => button.addEventListener("click", () => {
    document.querySelectorAll("[data-layout]").forEach((b) => b.classList.toggle("active", b === button));
    state.layout = button.dataset.layout; load();
  }));
  const control = (name) => document.querySelector(`[data-control=${name}]`);
  control("lead").addEventListener("change", (e) => { state.lead = e.target.value; state.layout = "single";
    document.querySelectorAll("[data-layout]").forEach((b) => b.classList.toggle("active", b.dataset.layout === "single")); load(); });
  control("speed").addEventListener("change", (e) => { state.speed = parseInt(e.target.value, 10); load(); });
  control("gain").addEventListener("change", (e) => { state.gain = parseInt(e.target.value, 10); draw(); });
  control("start").addEventListener("change", (e) => {
    state.start = Math.max(0, Math.min(parseFloat(e.target.value) || 0, Math.max(0, duration - 1))); load(); });
  control("calipers").addEventListener("click", (e) => {
    state.calipers = !state.calipers; e.target.setAttribute("aria-pressed", String(state.calipers));
    e.target.classList.toggle("active", state.calipers); state.marks = [];
  });
  window.addEventListener("resize", () => { if (state.data) draw(); });
  load();
})();

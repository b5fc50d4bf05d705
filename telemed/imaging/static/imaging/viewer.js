// The reader's viewer: plain JS and a canvas. Images come from the scoped DICOMweb:
// the series metadata (DICOM JSON), native frames as raw little-endian pixels (windowed here
// after Rescale Slope/Intercept, with the Photometric Interpretation), and the server's
// rendered image for compressed or colour instances.
(function () {
  "use strict";
  const root = document.getElementById("viewer");
  if (!root) return;
  const seriesList = JSON.parse(document.getElementById("viewer-series").textContent);
  const canvas = document.getElementById("viewer-canvas");
  const stage = document.getElementById("viewer-stage");
  const slider = document.getElementById("viewer-slider");
  const ctx = canvas.getContext("2d");
  const out = (name) => root.querySelector(`[data-testid="${name}"]`);
  const NATIVE = new Set(["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]);
  const CACHE_LIMIT = 96; // decoded slices kept; a 500-slice CT would not fit in memory whole

  const state = {
    series: null, slices: [], index: 0, width: 400, level: 40, zoom: 1, panX: 0, panY: 0,
    tool: "scroll", image: null, measure: null, token: 0, cache: new Map(),
  };

  function tag(item, code, fallback) {
    const element = item[code];
    if (!element || !element.Value || !element.Value.length) return fallback;
    return element.Value;
  }
  const first = (item, code, fallback) => { const v = tag(item, code, null); return v ? v[0] : fallback; };
  const number = (item, code, fallback) => { const v = first(item, code, null); return v === null || v === "" ? fallback : Number(v); };

  function describe(item, base) {
    const spacing = tag(item, "00280030", null);
    return {
      uid: first(item, "00080018", ""),
      number: number(item, "00200013", 0),
      rows: number(item, "00280010", 0),
      columns: number(item, "00280011", 0),
      frames: number(item, "00280008", 1) || 1,
      bits: number(item, "00280100", 16),
      signed: number(item, "00280103", 0) === 1,
      samples: number(item, "00280002", 1),
      photometric: first(item, "00280004", "MONOCHROME2"),
      slope: number(item, "00281053", 1) || 1,
      intercept: number(item, "00281052", 0),
      center: number(item, "00281050", null),
      windowWidth: number(item, "00281051", null),
      syntax: first(item, "00020010", ""),
      // Pixel Spacing is (row spacing, column spacing): between rows, then between columns.
      spacing: spacing ? [Number(spacing[0]), Number(spacing[1])] : null,
      base: base,
    };
  }

  async function openSeries(position) {
    const series = seriesList[position];
    if (!series) return;
    const token = ++state.token;
    root.querySelectorAll(".viewer-series-item").forEach((b, i) => b.classList.toggle("active", i === position));
    status(root.dataset.labelLoading);
    const response = await fetch(series.metadata, { headers: { Accept: "application/dicom+json" }, credentials: "same-origin" });
    if (!response.ok) { status(root.dataset.labelFailed); return; }
    const items = await response.json();
    if (token !== state.token) return;
    const base = series.metadata.replace(/\/metadata$/, "");
    const instances = items.map((item) => describe(item, base)).sort((a, b) => a.number - b.number);
    state.series = series;
    state.slices = [];
    for (const instance of instances) {
      for (let frame = 1; frame <= instance.frames; frame++) state.slices.push({ instance, frame });
    }
    state.cache.clear();
    state.measure = null;
    const head = instances[0];
    state.width = head && head.windowWidth ? head.windowWidth : 400;
    state.level = head && head.center !== null ? head.center : 40;
    state.defaults = { width: state.width, level: state.level };
    state.zoom = 1; state.panX = 0; state.panY = 0;
    slider.max = String(Math.max(state.slices.length, 1));
    out("viewer-patient").textContent = `${series.patient || ""} ${series.date || ""}`;
    out("viewer-series-name").textContent = `${series.modality} ${series.number ?? ""} ${series.description || ""}`;
    await show(0);
  }

  function status(text) { out("viewer-status").textContent = text || ""; }

  function parseFrame(buffer, instance) {
    // One part of a multipart/related answer: the bytes after the part's blank line.
    const bytes = new Uint8Array(buffer);
    let start = -1;
    for (let i = 0; i + 3 < bytes.length; i++) {
      if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) { start = i + 4; break; }
    }
    if (start < 0) throw new Error("no part");
    const length = instance.rows * instance.columns * (instance.bits / 8);
    const copy = buffer.slice(start, start + length);
    if (instance.bits === 8) return new Uint8Array(copy);
    return instance.signed ? new Int16Array(copy) : new Uint16Array(copy);
  }

  function load(slice) {
    // The cache holds promises, so a slice being fetched (shown or prefetched) is fetched once.
    const key = `${slice.instance.uid}/${slice.frame}`;
    if (state.cache.has(key)) return state.cache.get(key);
    const pending = fetchSlice(slice).catch((error) => { state.cache.delete(key); throw error; });
    state.cache.set(key, pending);
    if (state.cache.size > CACHE_LIMIT) state.cache.delete(state.cache.keys().next().value);
    return pending;
  }

  function prefetch(index) {
    for (let step = 1; step <= 3; step++) {
      const slice = state.slices[index + step];
      if (slice) load(slice).catch(() => {});
    }
  }

  async function fetchSlice(slice) {
    const instance = slice.instance;
    const url = `${instance.base}/instances/${instance.uid}`;
    const native = NATIVE.has(instance.syntax) && instance.samples === 1 && (instance.bits === 8 || instance.bits === 16)
      && instance.photometric.startsWith("MONOCHROME");
    if (native) {
      const response = await fetch(`${url}/frames/${slice.frame}`, {
        headers: { Accept: 'multipart/related; type="application/octet-stream"' }, credentials: "same-origin",
      });
      if (!response.ok) throw new Error(String(response.status));
      return { kind: "native", pixels: parseFrame(await response.arrayBuffer(), instance), instance };
    }
    const response = await fetch(`${url}/rendered?frame=${slice.frame}`, { headers: { Accept: "image/png" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    return { kind: "rendered", bitmap: await createImageBitmap(await response.blob()), instance };
  }

  async function show(index) {
    if (!state.slices.length) return;
    index = Math.max(0, Math.min(state.slices.length - 1, index));
    state.index = index;
    slider.value = String(index + 1);
    out("viewer-slice").textContent = `${index + 1} / ${state.slices.length}`;
    const token = state.token;
    try {
      const image = await load(state.slices[index]);
      if (token !== state.token || index !== state.index) return;
      state.image = image;
      status(image.kind === "rendered" ? root.dataset.labelRendered : "");
      prepare();
      draw();
      prefetch(index);
    } catch (error) {
      status(root.dataset.labelFailed);
    }
  }

  let offscreen = null;
  function prepare() {
    // The windowed image at its own size; draw() only scales and moves it.
    const image = state.image;
    if (!image || image.kind !== "native") return;
    const inst = image.instance;
    offscreen = offscreen || document.createElement("canvas");
    offscreen.width = inst.columns; offscreen.height = inst.rows;
    const octx = offscreen.getContext("2d");
    const data = octx.createImageData(inst.columns, inst.rows);
    const px = image.pixels, rgba = data.data;
    const width = Math.max(state.width, 1), low = state.level - 0.5 - (width - 1) / 2;
    const invert = inst.photometric === "MONOCHROME1";
    for (let i = 0, j = 0; i < px.length; i++, j += 4) {
      const value = px[i] * inst.slope + inst.intercept;
      let grey = ((value - low) / (width - 1)) * 255;
      grey = grey < 0 ? 0 : grey > 255 ? 255 : grey;
      if (invert) grey = 255 - grey;
      rgba[j] = rgba[j + 1] = rgba[j + 2] = grey; rgba[j + 3] = 255;
    }
    octx.putImageData(data, 0, 0);
  }

  function geometry() {
    const image = state.image;
    const w = image.kind === "native" ? image.instance.columns : image.bitmap.width;
    const h = image.kind === "native" ? image.instance.rows : image.bitmap.height;
    const fit = Math.min(canvas.width / w, canvas.height / h);
    const scale = fit * state.zoom;
    return { w, h, scale, x: (canvas.width - w * scale) / 2 + state.panX, y: (canvas.height - h * scale) / 2 + state.panY };
  }

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const cw = Math.round(stage.clientWidth * ratio), ch = Math.round(stage.clientHeight * ratio);
    if (canvas.width !== cw || canvas.height !== ch) { canvas.width = cw; canvas.height = ch; }
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!state.image) return;
    const g = geometry();
    ctx.imageSmoothingEnabled = state.zoom < 3;
    ctx.drawImage(state.image.kind === "native" ? offscreen : state.image.bitmap, g.x, g.y, g.w * g.scale, g.h * g.scale);
    out("viewer-width").textContent = String(Math.round(state.width));
    out("viewer-level").textContent = String(Math.round(state.level));
    out("viewer-zoom").textContent = state.zoom !== 1 ? ` · ×${state.zoom.toFixed(1)}` : "";
    if (state.measure) drawMeasure(g);
    canvas.dataset.drawn = String(Number(canvas.dataset.drawn || 0) + 1);
  }

  function drawMeasure(g) {
    const m = state.measure;
    const a = { x: g.x + m.a.x * g.scale, y: g.y + m.a.y * g.scale };
    const b = { x: g.x + m.b.x * g.scale, y: g.y + m.b.y * g.scale };
    ctx.strokeStyle = "#ff0"; ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
    ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
    const spacing = state.image.instance.spacing;
    const dx = m.b.x - m.a.x, dy = m.b.y - m.a.y;
    out("viewer-measure").textContent = spacing
      ? `${Math.hypot(dx * spacing[1], dy * spacing[0]).toFixed(1)} mm`
      : `${Math.hypot(dx, dy).toFixed(1)} px (${root.dataset.labelNospacing})`;
  }

  function toImage(event) {
    const rect = canvas.getBoundingClientRect();
    const ratio = canvas.width / rect.width;
    const g = geometry();
    return { x: ((event.clientX - rect.left) * ratio - g.x) / g.scale, y: ((event.clientY - rect.top) * ratio - g.y) / g.scale };
  }

  function setWindow(width, level) {
    state.width = Math.max(1, width); state.level = level;
    prepare(); draw();
  }

  // Pointer input: one pointer acts with the chosen tool; two pointers pinch to zoom.
  const pointers = new Map();
  let drag = null, pinch = null;
  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pointers.size === 2) {
      const [p, q] = [...pointers.values()];
      pinch = { distance: Math.hypot(p.x - q.x, p.y - q.y), zoom: state.zoom };
      drag = null;
      return;
    }
    drag = { x: event.clientX, y: event.clientY, width: state.width, level: state.level, index: state.index,
      zoom: state.zoom, panX: state.panX, panY: state.panY, tool: state.tool };
    if (state.tool === "measure" && state.image) { const p = toImage(event); state.measure = { a: p, b: p }; }
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!pointers.has(event.pointerId)) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pinch && pointers.size === 2) {
      const [p, q] = [...pointers.values()];
      state.zoom = Math.max(0.25, Math.min(20, pinch.zoom * Math.hypot(p.x - q.x, p.y - q.y) / Math.max(pinch.distance, 1)));
      draw();
      return;
    }
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    const ratio = canvas.width / canvas.getBoundingClientRect().width;
    if (drag.tool === "window") setWindow(drag.width + dx * 4, drag.level + dy * 2);
    else if (drag.tool === "pan") { state.panX = drag.panX + dx * ratio; state.panY = drag.panY + dy * ratio; draw(); }
    else if (drag.tool === "zoom") { state.zoom = Math.max(0.25, Math.min(20, drag.zoom * Math.exp(-dy / 150))); draw(); }
    else if (drag.tool === "measure" && state.measure) { state.measure.b = toImage(event); draw(); }
    else if (drag.tool === "scroll") {
      // A swipe: one image per 12 CSS pixels of vertical travel.
      const target = drag.index + Math.round(dy / 12);
      if (target !== state.index) show(target);
    }
  });
  const release = (event) => {
    pointers.delete(event.pointerId);
    if (pointers.size < 2) pinch = null;
    if (!pointers.size) drag = null;
  };
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    if (event.ctrlKey) { state.zoom = Math.max(0.25, Math.min(20, state.zoom * Math.exp(-event.deltaY / 300))); draw(); }
    else show(state.index + (event.deltaY > 0 ? 1 : -1));
  }, { passive: false });
  canvas.addEventListener("keydown", (event) => {
    const steps = { ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1, PageUp: -10 };
    if (event.key in steps) show(state.index + steps[event.key]);
    else if (event.key === "Home") show(0);
    else if (event.key === "End") show(state.slices.length - 1);
    else if (event.key === "+" || event.key === "=") { state.zoom = Math.min(20, state.zoom * 1.25); draw(); }
    else if (event.key === "-") { state.zoom = Math.max(0.25, state.zoom / 1.25); draw(); }
    else if (event.key === "0") { state.zoom = 1; state.panX = state.panY = 0; draw(); }
    else return;
    event.preventDefault();
  });
  slider.addEventListener("input", () => show(Number(slider.value) - 1));

  root.querySelectorAll("[data-tool]").forEach((button) => button.addEventListener("click", () => {
    state.tool = button.dataset.tool;
    root.querySelectorAll("[data-tool]").forEach((b) => b.classList.toggle("active", b === button));
    canvas.focus();
  }));
  root.querySelectorAll("[data-width]").forEach((button) => button.addEventListener("click", () => {
    setWindow(Number(button.dataset.width), Number(button.dataset.level));
  }));
  root.querySelector("[data-reset]").addEventListener("click", () => {
    state.zoom = 1; state.panX = state.panY = 0; state.measure = null;
    out("viewer-measure").textContent = "";
    if (state.defaults) setWindow(state.defaults.width, state.defaults.level);
  });
  root.querySelectorAll(".viewer-series-item").forEach((button) => button.addEventListener("click", () => openSeries(Number(button.dataset.index))));
  new ResizeObserver(() => draw()).observe(stage);
  if (seriesList.length) openSeries(0);
})();

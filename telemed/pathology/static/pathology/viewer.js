// The pathology viewer: one OpenSeadragon viewer per slide of the case, a scale bar from
// the slide's MPP, and annotations drawn on an SVG overlay in level-0 slide pixels (so they
// stay put through zoom and rotation and mean the same to every participant).
(function () {
  "use strict";
  const script = document.getElementById("pathology-viewer-script");
  const text = JSON.parse(document.getElementById("pathology-text").textContent);
  const csrf = script.dataset.csrf;
  const SVG = "http://www.w3.org/2000/svg";
  const TWO_POINTS = new Set(["arrow", "distance", "rectangle", "ellipse"]);

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (r) {
      if (r.status === 204) return null;
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.message || r.statusText);
        return data;
      });
    });
  }

  function niceLength(um) {
    // The largest 1, 2 or 5 x 10^n micrometres not longer than um.
    const power = Math.pow(10, Math.floor(Math.log10(um)));
    for (const step of [5, 2, 1]) if (step * power <= um) return step * power;
    return power;
  }

  function formatUm(um) {
    return um >= 1000 ? (um / 1000).toFixed(um >= 10000 ? 0 : 1) + " mm" : um + " µm";
  }

  function measureText(m) {
    const parts = [];
    if (m.length_um !== undefined) parts.push(formatUm(Math.round(m.length_um * 10) / 10));
    if (m.area_um2 !== undefined) parts.push(Math.round(m.area_um2) + " µm²");
    return parts.join(" · ");
  }

  function ellipsePoints(a, b) {
    const cx = (a[0] + b[0]) / 2, cy = (a[1] + b[1]) / 2;
    const rx = Math.abs(b[0] - a[0]) / 2, ry = Math.abs(b[1] - a[1]) / 2;
    const out = [];
    for (let i = 0; i < 48; i++) {
      const t = (i / 48) * 2 * Math.PI;
      out.push([cx + rx * Math.cos(t), cy + ry * Math.sin(t)]);
    }
    return out;
  }

  function outline(kind, points) {
    // Every shape as a polyline or polygon of slide points: rotation needs no special case.
    if (kind === "rectangle") {
      const [a, b] = points;
      return { closed: true, points: [a, [b[0], a[1]], b, [a[0], b[1]]] };
    }
    if (kind === "ellipse") return { closed: true, points: ellipsePoints(points[0], points[1]) };
    return { closed: kind === "area", points: points };
  }

  function setUp(element) {
    const card = element.closest(".card");
    const errorBox = card.querySelector(".viewer-error");
    const mpp = parseFloat(element.dataset.mpp) || null;
    const viewer = OpenSeadragon({
      element: element,
      prefixUrl: script.dataset.images,
      tileSources: element.dataset.dzi,
      showNavigator: true,
      navigatorPosition: "TOP_RIGHT",
      showRotationControl: true,
      maxZoomPixelRatio: 2,
      ajaxWithCredentials: true,
      gestureSettingsTouch: { pinchRotate: true },
    });
    element.viewer = viewer;
    let annotations = [];
    let tool = "pan";
    let drawing = null;

    const svg = document.createElementNS(SVG, "svg");
    svg.classList.add("annotations");
    element.appendChild(svg);

    viewer.addHandler("tile-loaded", function () {
      element.dataset.tilesLoaded = String(+element.dataset.tilesLoaded + 1);
    });
    let tileReasonShown = false;
    viewer.addHandler("tile-load-failed", function (event) {
      element.dataset.tilesFailed = String(+element.dataset.tilesFailed + 1);
      // A relayed tile can fail with a reason (the sending hospital's edge is offline or
      // slow): show it once instead of leaving blank squares unexplained.
      if (tileReasonShown || !event.tile) return;
      tileReasonShown = true;
      fetch(event.tile.getUrl(), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? null : r.json(); })
        .then(function (data) {
          if (!data || !data.message) { tileReasonShown = false; return; }
          errorBox.textContent = data.message;
          errorBox.classList.remove("d-none");
        })
        .catch(function () { tileReasonShown = false; });
    });
    viewer.addHandler("tile-loaded", function () {
      if (tileReasonShown && !errorBox.classList.contains("d-none")) {
        // Tiles arrive again (the edge reconnected): the reason no longer holds.
        errorBox.classList.add("d-none");
        tileReasonShown = false;
      }
    });
    viewer.addHandler("open-failed", function (event) {
      // The API's reason (a JSON 4xx), when there is one, instead of a blank viewer.
      errorBox.textContent = text.open_failed + " " + (event.message || "");
      errorBox.classList.remove("d-none");
      fetch(element.dataset.dzi, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? null : r.json(); })
        .then(function (data) {
          if (data && data.message) errorBox.textContent = text.open_failed + " " + data.message;
        })
        .catch(function () { /* the generic sentence stays */ });
    });

    function toScreen(p) {
      const s = viewer.viewport.imageToViewerElementCoordinates(new OpenSeadragon.Point(p[0], p[1]));
      return s.x.toFixed(1) + "," + s.y.toFixed(1);
    }

    function toSlide(event) {
      const box = element.getBoundingClientRect();
      const point = new OpenSeadragon.Point(event.clientX - box.left, event.clientY - box.top);
      const p = viewer.viewport.viewerElementToImageCoordinates(point);
      const size = viewer.world.getItemAt(0).getContentSize();
      return [Math.min(Math.max(p.x, 0), size.x), Math.min(Math.max(p.y, 0), size.y)];
    }

    function shape(kind, points, className) {
      if (kind === "point") {
        const c = document.createElementNS(SVG, "circle");
        const [x, y] = toScreen(points[0]).split(",");
        c.setAttribute("cx", x); c.setAttribute("cy", y); c.setAttribute("r", "6");
        c.setAttribute("class", "shape " + className);
        return c;
      }
      const o = outline(kind, points);
      const el = document.createElementNS(SVG, o.closed ? "polygon" : "polyline");
      el.setAttribute("points", o.points.map(toScreen).join(" "));
      el.setAttribute("class", "shape " + (o.closed ? "" : "line ") + className);
      if (kind === "arrow") el.setAttribute("marker-end", "url(#arrowhead)");
      return el;
    }

    function redraw() {
      if (!viewer.world.getItemAt(0)) return;
      svg.replaceChildren();
      svg.insertAdjacentHTML("afterbegin",
        '<defs><marker id="arrowhead" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">' +
        '<path d="M0,0 L8,4 L0,8 z" fill="#00c8ff"/></marker></defs>');
      for (const a of annotations) {
        const el = shape(a.kind, a.points, a.mine ? "mine" : "");
        el.dataset.annotationId = a.id;
        el.dataset.kind = a.kind;
        svg.appendChild(el);
      }
      if (drawing && drawing.points.length) svg.appendChild(shape(drawing.kind, drawing.points, "mine"));
      updateScaleBar();
    }

    function updateScaleBar() {
      const bar = element.querySelector(".scale-bar");
      if (!mpp || !viewer.world.getItemAt(0)) { bar.style.display = "none"; return; }
      const imageZoom = viewer.viewport.viewportToImageZoom(viewer.viewport.getZoom(true));
      const umPerScreenPixel = mpp / imageZoom;
      const um = niceLength(umPerScreenPixel * 120);
      bar.style.width = (um / umPerScreenPixel).toFixed(0) + "px";
      bar.querySelector("span").textContent = formatUm(um);
    }

    function listAnnotations() {
      const list = card.querySelector(".annotation-list");
      list.replaceChildren();
      for (const a of annotations) {
        const li = document.createElement("li");
        li.dataset.kind = a.kind;
        li.textContent = [text.kinds[a.kind] || a.kind, a.label, measureText(a.measurements), "· " + a.author]
          .filter(Boolean).join(" ");
        if (a.mine) {
          const del = document.createElement("button");
          del.type = "button";
          del.className = "btn btn-link btn-sm p-0 ms-2";
          del.textContent = text.delete;
          del.addEventListener("click", function () {
            api("DELETE", "/api/pathology/annotations/" + a.id).then(load).catch(showError);
          });
          li.appendChild(del);
        }
        list.appendChild(li);
      }
    }

    function load() {
      return api("GET", element.dataset.annotations).then(function (data) {
        annotations = data;
        listAnnotations();
        redraw();
      }).catch(showError);
    }

    function showError(error) {
      errorBox.textContent = error.message;
      errorBox.classList.remove("d-none");
    }

    function save() {
      const done = drawing;
      drawing = null;
      if (!done || !done.points.length) return;
      let points = done.points;
      if (TWO_POINTS.has(done.kind)) points = [points[0], points[points.length - 1]];
      if (done.kind === "point") points = [points[0]];
      api("POST", element.dataset.annotations, { kind: done.kind, points: points })
        .then(load).catch(function (e) { showError(e); redraw(); });
    }

    svg.addEventListener("pointerdown", function (event) {
      if (tool === "pan") return;
      event.preventDefault();
      svg.setPointerCapture(event.pointerId);
      drawing = { kind: tool, points: [toSlide(event)] };
      if (tool === "point") save();
    });
    svg.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      const p = toSlide(event);
      if (TWO_POINTS.has(drawing.kind)) drawing.points = [drawing.points[0], p];
      else drawing.points.push(p);
      redraw();
    });
    svg.addEventListener("pointerup", save);

    card.querySelectorAll("[data-tool]").forEach(function (button) {
      button.addEventListener("click", function () {
        tool = button.dataset.tool;
        card.querySelectorAll("[data-tool]").forEach(function (b) { b.classList.toggle("active", b === button); });
        element.classList.toggle("drawing", tool !== "pan");
        viewer.setMouseNavEnabled(tool === "pan");
      });
    });

    card.querySelector("[data-action=key-image]").addEventListener("click", function () {
      const size = viewer.world.getItemAt(0).getContentSize();
      const r = viewer.viewport.viewportToImageRectangle(viewer.viewport.getBounds(true));
      const x = Math.max(0, Math.floor(r.x)), y = Math.max(0, Math.floor(r.y));
      const body = {
        x: x, y: y,
        width: Math.max(1, Math.min(size.x, Math.ceil(r.x + r.width)) - x),
        height: Math.max(1, Math.min(size.y, Math.ceil(r.y + r.height)) - y),
      };
      api("POST", element.dataset.keyImages, body).then(function () {
        card.querySelector(".key-image-note").textContent = text.key_image_saved;
      }).catch(showError);
    });

    viewer.addHandler("open", function () {
      load();
      // Others' annotations appear without a reload (a light poll; drawing is not disturbed).
      window.setInterval(function () { if (!drawing && !document.hidden) load(); }, 20000);
    });
    viewer.addHandler("update-viewport", redraw);
    viewer.addHandler("resize", redraw);
  }

  document.querySelectorAll(".slide-viewer").forEach(setUp);

  // "Upload now": the sending hospital's edge sends the file at once, outside its window.
  document.querySelectorAll("[data-action=upload-now]").forEach(function (button) {
    button.addEventListener("click", function () {
      const note = button.parentElement.querySelector(".upload-now-note");
      button.disabled = true;
      api("POST", button.dataset.url)
        .then(function (data) { note.textContent = data.message; })
        .catch(function (error) { note.textContent = error.message; button.disabled = false; });
    });
  });

  // Uploads go through the hub's tus endpoint in pieces: a dropped link or a reload resumes
  // from the offset the hub reports (the upload's address is kept in localStorage).
  const CHUNK = 4 * 1024 * 1024;
  const TUS = { "Tus-Resumable": "1.0.0", "X-CSRFToken": csrf };

  function b64(value) {
    return btoa(String.fromCharCode.apply(null, new TextEncoder().encode(String(value))));
  }

  function reason(response) {
    return response.json().then(function (d) { return d.message || response.statusText; },
      function () { return response.statusText; });
  }

  async function tusUpload(form, file, stain, progress) {
    const memo = "tus:" + form.dataset.consultation + ":" + file.name + ":" + file.size + ":" + file.lastModified;
    let location = window.localStorage.getItem(memo);
    let offset = 0;
    if (location) {
      const head = await fetch(location, { method: "HEAD", headers: TUS, credentials: "same-origin" });
      if (head.ok) offset = +head.headers.get("Upload-Offset");
      else location = null;
    }
    if (!location) {
      const meta = ["consultation " + b64(form.dataset.consultation), "filename " + b64(file.name)];
      if (stain) meta.push("stain " + b64(stain));
      const created = await fetch(form.dataset.tus, {
        method: "POST", credentials: "same-origin",
        headers: Object.assign({ "Upload-Length": String(file.size), "Upload-Metadata": meta.join(",") }, TUS),
      });
      if (created.status !== 201) throw new Error(await reason(created));
      location = created.headers.get("Location");
      window.localStorage.setItem(memo, location);
    }
    let failures = 0;
    while (true) {
      progress.value = file.size ? (100 * offset) / file.size : 100;
      let answer;
      try {
        answer = await fetch(location, {
          method: "PATCH", credentials: "same-origin",
          headers: Object.assign({ "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset) }, TUS),
          body: file.slice(offset, Math.min(offset + CHUNK, file.size)),
        });
      } catch (e) {
        answer = null;
      }
      if (answer && answer.status === 204) {
        failures = 0;
        offset = +answer.headers.get("Upload-Offset");
        if (answer.headers.get("X-Slide-Id")) { window.localStorage.removeItem(memo); return; }
        continue;
      }
      if (answer && answer.status >= 400 && answer.status < 500 && answer.status !== 409) {
        window.localStorage.removeItem(memo);
        throw new Error(await reason(answer));
      }
      // The link dropped (or a stale offset): ask where the hub is, wait a little, go on.
      if (++failures > 8) throw new Error(text.upload_failed);
      await new Promise(function (done) { window.setTimeout(done, 500 * failures); });
      const head = await fetch(location, { method: "HEAD", headers: TUS, credentials: "same-origin" }).catch(function () { return null; });
      if (head && head.ok) offset = +head.headers.get("Upload-Offset");
    }
  }

  const form = document.getElementById("slide-upload");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const file = document.getElementById("slide-file").files[0];
      if (!file) return;
      const progress = document.getElementById("slide-progress");
      const error = document.getElementById("slide-upload-error");
      error.textContent = "";
      progress.classList.remove("d-none");
      tusUpload(form, file, document.getElementById("slide-stain").value, progress)
        .then(function () { window.location.reload(); })
        .catch(function (e) { error.textContent = e.message; });
    });
  }
})();

// Browser upload into STOW-RS: the chosen files as one multipart/related body (the browser
// streams them from disk), with the upload's own progress. Not resumable: an interrupted
// upload starts again (resumable uploads come with the pathology work).
(function () {
  "use strict";
  const form = document.getElementById("stow-form");
  if (!form) return;
  const input = document.getElementById("stow-files");
  const bar = document.getElementById("stow-progress");
  const result = document.getElementById("stow-result");
  const failures = document.getElementById("stow-failures");
  const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
  const values = (item, code) => (item && item[code] && item[code].Value) || [];

  function progress(fraction) {
    const percent = Math.round(fraction * 100);
    bar.style.width = `${percent}%`;
    bar.textContent = `${percent}%`;
    bar.parentElement.setAttribute("aria-valuenow", String(percent));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    failures.textContent = "";
    if (!input.files.length) { result.textContent = result.dataset.empty; return; }
    const boundary = `telemed-${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
    const parts = [];
    for (const file of input.files) {
      parts.push(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, file, "\r\n");
    }
    parts.push(`--${boundary}--\r\n`);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.stowUrl);
    xhr.setRequestHeader("Content-Type", `multipart/related; type="application/dicom"; boundary=${boundary}`);
    xhr.setRequestHeader("Accept", "application/dicom+json");
    xhr.setRequestHeader("X-CSRFToken", form.dataset.csrf);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) progress(e.loaded / e.total); });
    xhr.addEventListener("load", () => {
      progress(1);
      let answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (error) { answer = null; }
      if (xhr.status >= 400 && !(answer && answer["00081198"])) {
        result.textContent = fill(result.dataset.failed, { reason: (answer && answer.message) || xhr.status });
        result.className = "mt-2 text-danger";
        return;
      }
      const stored = values(answer, "00081199");
      const failed = values(answer, "00081198");
      result.textContent = fill(result.dataset.stored, { stored: stored.length, failed: failed.length });
      result.className = failed.length ? "mt-2 text-warning" : "mt-2 text-success";
      for (const item of failed) {
        const line = document.createElement("li");
        line.textContent = `${values(item, "00081155")[0] || "?"}: 0x${Number(values(item, "00081197")[0] || 0).toString(16).toUpperCase()}`;
        failures.appendChild(line);
      }
    });
    xhr.addEventListener("error", () => {
      result.textContent = fill(result.dataset.failed, { reason: "network" });
      result.className = "mt-2 text-danger";
    });
    progress(0);
    xhr.send(new Blob(parts));
  });
})();

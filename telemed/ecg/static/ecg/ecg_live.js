// Live ECG pages on "/ws/ecg/": the worklist gains new ECGs at once (critical first, with a
// sound), shows who took one, drops those that left the pool; a case page shows its report
// as soon as it is signed. Without a socket the pages still work: a refresh shows the same.
(function () {
  "use strict";
  const badge = document.querySelector("[data-testid=ecg-live]");
  const table = document.querySelector("[data-testid=ecg-worklist]");
  const casePage = document.querySelector("[data-testid=ecg-case]");
  const csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  let delay = 1000;

  function setLive(live) {
    if (!badge) return;
    badge.textContent = live ? badge.dataset.liveLabel : badge.dataset.offlineLabel;
    badge.className = "badge " + (live ? "text-bg-success" : "text-bg-secondary");
    badge.dataset.state = live ? "live" : "offline";
  }

  function alarm() {
    // A short two-tone beep; browsers may keep it silent until the page has been touched.
    try {
      const context = new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.25].forEach((at, i) => {
        const tone = context.createOscillator();
        const gain = context.createGain();
        tone.frequency.value = i ? 660 : 880;
        gain.gain.value = 0.15;
        tone.connect(gain).connect(context.destination);
        tone.start(context.currentTime + at);
        tone.stop(context.currentTime + at + 0.18);
      });
    } catch (error) { /* no audio on this device */ }
  }

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function rowFor(data) {
    const tr = document.createElement("tr");
    tr.dataset.testid = "ecg-row";
    tr.setAttribute("data-testid", "ecg-row");
    tr.dataset.id = data.id;
    tr.dataset.critical = data.critical ? "1" : "0";
    tr.dataset.submitted = data.submitted_at || "";
    if (data.critical) tr.className = "table-danger";
    const number = document.createElement("td");
    number.className = "text-nowrap";
    const link = document.createElement("a");
    link.href = data.url; link.textContent = data.number;
    number.appendChild(link);
    if (data.critical) {
      const flag = document.createElement("span");
      flag.className = "badge text-bg-danger ms-1"; flag.textContent = table.dataset.criticalLabel;
      number.appendChild(flag);
    }
    tr.appendChild(number);
    tr.appendChild(cell(data.requesting_institution, "d-none d-md-table-cell"));
    tr.appendChild(cell(data.patient_sex + (data.patient_age !== null ? ", " + data.patient_age : "")));
    const reading = cell(data.rhythm_label + (data.heart_rate ? ` · ${Math.round(data.heart_rate)} bpm` : ""));
    (data.flag_labels || []).forEach((label) => {
      const div = document.createElement("div"); div.className = "small text-danger"; div.textContent = label;
      reading.appendChild(div);
    });
    tr.appendChild(reading);
    const when = data.submitted_at ? new Date(data.submitted_at) : null;
    tr.appendChild(cell(when ? when.toLocaleString([], { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : "", "small d-none d-sm-table-cell"));
    const status = cell(data.state_label, "ecg-status");
    status.setAttribute("data-testid", "ecg-status");
    tr.appendChild(status);
    const act = document.createElement("td");
    act.className = "text-end text-nowrap";
    const form = document.createElement("form");
    form.method = "post"; form.action = data.url + "claim/"; form.className = "d-inline";
    form.innerHTML = '<input type="hidden" name="csrfmiddlewaretoken"><button class="btn btn-sm btn-success" data-testid="ecg-claim"></button>';
    form.querySelector("input").value = csrf;
    form.querySelector("button").textContent = table.dataset.claimLabel;
    act.appendChild(form);
    tr.appendChild(act);
    return tr;
  }

  // Critical first, then oldest: the same order as the server's.
  function before(a, b) {
    if (a.dataset.critical !== b.dataset.critical) return a.dataset.critical === "1";
    return (a.dataset.submitted || "") < (b.dataset.submitted || "");
  }

  function arrive(data) {
    if (!table || table.dataset.expert !== "1") return;
    const body = table.tBodies[0];
    const old = body.querySelector(`tr[data-id="${data.id}"]`);
    if (old) old.remove();
    body.querySelectorAll(".ecg-empty").forEach((row) => row.remove());
    const row = rowFor(data);
    const next = Array.from(body.rows).find((other) => before(row, other));
    body.insertBefore(row, next || null);
    if (data.critical) alarm();
  }

  function taken(id, by) {
    if (!table) return;
    const row = table.querySelector(`tr[data-id="${id}"]`);
    if (!row) return;
    const status = row.querySelector(".ecg-status");
    status.textContent = table.dataset.takenLabel.replace("__NAME__", by ? by.name : "?");
    row.dataset.taken = "1";
    row.classList.add("text-body-secondary");
    const form = row.querySelector("form");
    if (form) form.remove();
  }

  function gone(id) {
    const row = table && table.querySelector(`tr[data-id="${id}"]`);
    if (row) row.remove();
  }

  async function caseChanged(message) {
    if (!casePage || String(message.id) !== casePage.dataset.caseId) return;
    const state = document.querySelector("[data-testid=ecg-state]");
    if (state && message.state_label) state.textContent = message.state_label;
    const holder = document.querySelector("[data-report-fragment]");
    if (holder && (message.action === "conclude" || message.action === "amend")) {
      const response = await fetch(holder.dataset.reportFragment, { credentials: "same-origin" });
      if (response.ok) holder.innerHTML = await response.text();
    }
  }

  // A pool colleague looking at the case when someone else takes it.
  function takenHere(message) {
    if (!casePage || String(message.id) !== casePage.dataset.caseId) return;
    const button = document.querySelector("[data-testid=ecg-case-claim-form]");
    if (!button) return;
    button.remove();
    const state = document.querySelector("[data-testid=ecg-state]");
    if (state) state.textContent = casePage.dataset.takenLabel.replace("__NAME__", message.by ? message.by.name : "?");
  }

  function siteChanged(message) {
    caseChanged(message);
    const row = table && table.querySelector(`tr[data-id="${message.id}"]`);
    if (row) row.querySelector(".ecg-status").textContent = message.state_label;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/ecg/`);
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "hello") {
        setLive(true);
        // After a reconnect, what was missed comes with a plain reload.
        if (delay > 1000) location.reload();
        delay = 1000;
      } else if (message.type === "new") arrive(message.row);
      else if (message.type === "taken") { taken(message.id, message.by); takenHere(message); }
      else if (message.type === "gone") gone(message.id);
      else if (message.type === "changed") siteChanged(message);
    });
    socket.addEventListener("close", () => {
      setLive(false);
      delay = Math.min(delay * 2, 30000);
      setTimeout(connect, delay);
    });
    setInterval(() => { if (socket.readyState === 1) socket.send("ping"); }, 25000);
  }
  connect();
})();

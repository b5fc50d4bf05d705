/* The live board: a WebSocket brings each change with the rows and counts to show (rendered
   by the server for this viewer). Reconnects with backoff; fetches the rows after every
   reconnect (changes may have been missed) and every five minutes, and reloads for a new day.
   Vanilla JS: nothing from the internet. */
(function () {
  "use strict";
  var root = document.querySelector("[data-board]");
  if (!root) { return; }
  var live = document.querySelector("[data-testid=board-live]");
  var wall = root.dataset.wall === "1";
  var inFlight = false;
  var again = false;
  var attempts = 0;
  var socket = null;
  var refreshes = 0;

  function setLive(state) {
    if (!live) { return; }
    live.dataset.state = state;
    var text = live.querySelector(".board-live-text");
    var label = live.dataset["text" + state.charAt(0).toUpperCase() + state.slice(1)];
    if (text && label) { text.textContent = label; }
  }

  var pushes = 0; // rows applied from the socket: a fetch started before one is stale

  function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    var pushesAtStart = pushes;
    fetch(root.dataset.rowsUrl, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
      cache: "no-store",
      redirect: "manual"
    }).then(function (response) {
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        window.location.reload(); // signed out: the page itself goes to the sign-in
        return null;
      }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null && html !== undefined && pushes === pushesAtStart) {
        root.innerHTML = html;
        refreshes += 1;
        root.dataset.refreshes = String(refreshes);
      }
    }).catch(function () { /* the next change or reconnect tries again */ })
      .then(function () {
        inFlight = false;
        if (again) { again = false; refresh(); }
      });
  }

  // A change brings every open board to fetch its rows: wait a moment first, so that a burst
  // of changes costs one fetch, and a wall of screens does not ask at the same instant.
  var pending = null;
  function soon() {
    if (pending !== null) { return; }
    pending = window.setTimeout(function () { pending = null; refresh(); }, 250 + Math.random() * 750);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    setLive(attempts === 0 ? "connecting" : "offline");
    try {
      var query = "?lang=" + encodeURIComponent(document.documentElement.lang || "") + (wall ? "&wall=1" : "");
      socket = new WebSocket(scheme + window.location.host + root.dataset.wsPath + query);
    } catch (e) {
      retry();
      return;
    }
    socket.onopen = function () {
      var reconnected = attempts > 0;
      attempts = 0;
      setLive("live");
      if (reconnected) { refresh(); }
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type !== "changed") { return; }
      if (typeof message.html === "string") {
        root.innerHTML = message.html; // rendered by the server for this viewer's scope
        pushes += 1;
        refreshes += 1;
        root.dataset.refreshes = String(refreshes);
      } else {
        soon();
      }
    };
    socket.onclose = function () {
      socket = null;
      retry();
    };
  }

  function retry() {
    setLive("offline");
    attempts += 1;
    // 1 s, 2 s, 4 s ... up to 30 s, with jitter so that a wall of screens does not return at once.
    var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(attempts - 1, 5)));
    delay = delay / 2 + Math.random() * delay / 2;
    window.setTimeout(function () {
      // A long outage may have ended the session: reload to show the sign-in if so.
      if (attempts > 3) { refresh(); }
      connect();
    }, delay);
  }

  // The board's day is the platform's (its time zone), whatever the screen's clock says.
  var nextDay = parseInt(root.dataset.nextDayMs || "", 10);
  var clockFormat = null;
  try {
    clockFormat = new Intl.DateTimeFormat(undefined, {
      timeZone: root.dataset.timeZone || undefined, hour: "2-digit", minute: "2-digit", hour12: false
    });
  } catch (e) {
    clockFormat = null;
  }

  function tickClock() {
    var clock = document.querySelector("[data-testid=board-clock]");
    if (!clock) { return; }
    var now = new Date();
    function two(n) { return (n < 10 ? "0" : "") + n; }
    clock.textContent = clockFormat ? clockFormat.format(now) : two(now.getHours()) + ":" + two(now.getMinutes());
  }

  window.setInterval(refresh, 5 * 60 * 1000);
  if (nextDay > 0) {
    // A new day: a new board (and its date). A few seconds late, so the server agrees.
    window.setTimeout(function () { window.location.reload(); }, nextDay + 5000);
  }
  if (wall) {
    tickClock();
    window.setInterval(tickClock, 10000);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && root.dataset.exitUrl) { window.location.href = root.dataset.exitUrl; }
      if (event.key === "f" && document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen().catch(function () {});
      }
    });
  }
  connect();
}());

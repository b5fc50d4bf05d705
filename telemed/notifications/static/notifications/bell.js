/* The navbar bell: the unread count, kept live over /ws/notifications/, and a short toast
   for each new notification; a notification about the page being read also tells that page
   ("consultation-changed"), so that its message thread refreshes. Reconnects with backoff.
   Vanilla JS. */
(function () {
  "use strict";
  var bell = document.querySelector("[data-testid=notification-bell]");
  if (!bell || !window.WebSocket) { return; }
  var badge = bell.querySelector("[data-testid=notification-count]");
  var toasts = document.querySelector("[data-testid=notification-toasts]");
  var attempts = 0;

  function show(count) {
    bell.dataset.unread = String(count);
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.classList.toggle("d-none", count === 0);
  }

  function toast(notification) {
    if (!toasts) { return; }
    var item = document.createElement("a");
    item.className = "btn btn-light shadow text-start";
    item.dataset.testid = "notification-toast";
    item.href = notification.link || bell.getAttribute("href");
    item.textContent = notification.title; // text, never HTML
    toasts.appendChild(item);
    window.setTimeout(function () { item.remove(); }, 8000);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(scheme + window.location.host + bell.dataset.wsPath);
    } catch (e) {
      retry();
      return;
    }
    socket.onopen = function () { attempts = 0; };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (typeof message.unread === "number") { show(message.unread); }
      if (message.type === "notification" && message.notification) {
        toast(message.notification);
        // News about the page being read (a message on its thread, a step taken): the parts
        // that listen for it (the thread) fetch themselves again.
        if (message.notification.link === window.location.pathname) {
          document.body.dispatchEvent(new CustomEvent("consultation-changed"));
        }
      }
    };
    socket.onclose = retry;
  }

  function retry() {
    attempts += 1;
    var delay = Math.min(60000, 1000 * Math.pow(2, Math.min(attempts - 1, 6)));
    window.setTimeout(connect, delay / 2 + Math.random() * delay / 2);
  }

  connect();
}());

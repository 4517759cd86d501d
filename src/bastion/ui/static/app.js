/* Bastion review UI behaviour: keyboard decisions, blurred media, SLA clocks, break reminders.
   No inline scripts anywhere (the content security policy forbids them); everything hangs off data-*
   attributes the server renders. */
(function () {
  "use strict";

  // --- SLA clocks: elements with data-due="<epoch seconds>" count down every second -------------------
  function fmt(seconds) {
    const late = seconds < 0;
    let s = Math.abs(Math.floor(seconds));
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const body = h >= 48 ? Math.floor(h / 24) + "d" : (h ? h + ":" + String(m).padStart(2, "0") + ":" : m + ":") + String(s).padStart(2, "0");
    return late ? "overdue " + body : body + " left";
  }
  function tickClocks() {
    const now = Date.now() / 1000;
    document.querySelectorAll("[data-due]").forEach(function (el) {
      const left = Number(el.dataset.due) - now;
      el.textContent = fmt(left);
      el.classList.toggle("late", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 3600);
      el.classList.toggle("ok", left >= 3600);
    });
  }

  // --- session clock and break reminder ------------------------------------------------------------------
  function tickSession() {
    const body = document.body;
    const start = Number(body.dataset.sessionStart || 0);
    if (!start) return;
    const elapsed = Date.now() / 1000 - start;
    const clock = document.getElementById("session-clock");
    if (clock) {
      const m = Math.floor(elapsed / 60);
      clock.textContent = Math.floor(m / 60) + ":" + String(m % 60).padStart(2, "0");
    }
    const banner = document.getElementById("break-banner");
    if (banner && elapsed >= Number(body.dataset.breakAfter || 3000)) banner.hidden = false;
  }

  // --- blurred media: revealed on click (or V), videos stay muted until the reviewer unmutes ------------
  function reveal(fig) {
    if (!fig || fig.classList.contains("revealed")) return;
    fig.classList.add("revealed");
    const el = fig.querySelector(".sensitive");
    if (el) el.dispatchEvent(new CustomEvent("reveal", { bubbles: true }));
  }
  document.addEventListener("click", function (ev) {
    const btn = ev.target.closest("figure.media .reveal");
    if (btn) { ev.preventDefault(); reveal(btn.closest("figure.media")); }
  });
  document.addEventListener("play", function (ev) {
    if (ev.target.tagName === "VIDEO" && !ev.target.dataset.userUnmuted) ev.target.muted = true;
  }, true);
  document.addEventListener("volumechange", function (ev) {
    if (ev.target.tagName === "VIDEO" && !ev.target.muted) ev.target.dataset.userUnmuted = "1";
  }, true);

  // --- keyboard decisions: the outcome's key arms it, Enter confirms, Escape disarms ----------------------
  function decisionForm() { return document.querySelector("form[data-decide]"); }
  function arm(form, btn) {
    form.querySelectorAll("button[data-key]").forEach(function (b) { b.classList.remove("selected"); });
    const hint = form.querySelector(".hint");
    const input = form.querySelector("input[name=outcome]");
    if (!btn) {
      input.value = "";
      if (hint) { hint.textContent = hint.dataset.idle; hint.classList.remove("armed"); }
      return;
    }
    btn.classList.add("selected");
    input.value = btn.value;
    if (hint) { hint.textContent = "“" + btn.dataset.label + "” — press Enter to confirm, Esc to cancel"; hint.classList.add("armed"); }
  }
  document.addEventListener("keydown", function (ev) {
    const t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.tagName === "SELECT" || t.isContentEditable)) {
      if (ev.key === "Escape") t.blur();
      return;
    }
    const key = ev.key.toLowerCase();
    if (key === "v") {
      const fig = document.querySelector("figure.media:not(.revealed)");
      if (fig) { reveal(fig); ev.preventDefault(); }
      return;
    }
    if (key === "n") {
      const notes = document.querySelector("form[data-decide] textarea");
      if (notes) { notes.focus(); ev.preventDefault(); }
      return;
    }
    const form = decisionForm();
    if (!form) return;
    if (key === "escape") { arm(form, null); return; }
    if (key === "enter") {
      const input = form.querySelector("input[name=outcome]");
      if (input.value) { ev.preventDefault(); form.requestSubmit(); }
      return;
    }
    const btn = form.querySelector('button[data-key="' + key + '"]');
    if (btn) { ev.preventDefault(); arm(form, btn); }
  });
  document.addEventListener("click", function (ev) {
    const btn = ev.target.closest("form[data-decide] button[data-key]");
    if (!btn) return;
    const form = btn.closest("form");
    const input = form.querySelector("input[name=outcome]");
    if (input.value !== btn.value) { ev.preventDefault(); arm(form, btn); }  // first click arms, second submits
  });

  document.addEventListener("DOMContentLoaded", function () {
    tickClocks(); tickSession();
    setInterval(tickClocks, 1000);
    setInterval(tickSession, 15000);
  });
  document.addEventListener("htmx:afterSwap", tickClocks);
})();

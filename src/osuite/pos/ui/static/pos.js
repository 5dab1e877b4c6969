// The cashier's screen in the browser: the scanner queue, focus, hotkeys, line choice and dialogs.
// Everything else is htmx: the server draws the screen, this only keeps keys and focus where a
// cashier expects them.
(function () {
  "use strict";

  const $ = (selector, root) => (root || document).querySelector(selector);
  const dialog = () => $("#dialog .dialog");

  function focusTarget() {
    const open = dialog();
    return (open && $("[autofocus]", open)) || $("#scan") || $("#pin");
  }

  function refocus() {
    const open = dialog();
    if (open) htmx.process(open); // a field typed into at once must already do what its attributes say
    const target = focusTarget();
    if (target && document.activeElement !== target) {
      target.focus();
      if (target.select && target.value) target.select();
    }
  }

  function closeDialog() {
    const holder = $("#dialog");
    if (holder) holder.innerHTML = "";
    refocus();
    pump();
  }

  // --- the scanner: a code and Enter, often twenty in a row without a pause -----------------------
  // Each Enter takes the code out of the input at once (so the next code types into an empty field)
  // and queues it; codes go to the till one at a time, in the order scanned. While a scan's answer
  // opens a dialog that asks something (a weight, the customer's age), the rest wait for it.
  const queue = [];
  let sending = false;

  function asksSomething() {
    const open = dialog();
    return Boolean(open && $("input, [autofocus]", open));
  }

  async function pump() {
    if (sending) return;
    sending = true;
    try {
      while (queue.length && !asksSomething()) {
        const code = queue.shift();
        await htmx.ajax("POST", "/ui/items", { source: "#scan-queue", values: { code: code }, swap: "none" });
      }
    } finally {
      sending = false;
    }
  }

  function onScanSubmit(event) {
    event.preventDefault();
    const input = $("#scan");
    const code = input.value.trim();
    input.value = "";
    if (code) {
      queue.push(code);
      pump();
    } else if (dialog()) {
      closeDialog(); // Enter on an empty field: done with the change shown, next customer
    }
  }

  // --- choosing a line ---------------------------------------------------------------------------
  function choose(row) {
    if (!row) return;
    document.querySelectorAll("#lines tr.line.chosen").forEach((r) => r.classList.remove("chosen"));
    row.classList.add("chosen");
    const selected = $("#selected-line");
    if (selected) selected.value = row.dataset.lineNo;
    row.scrollIntoView({ block: "nearest" });
  }

  function moveChoice(step) {
    const rows = Array.from(document.querySelectorAll("#lines tr.line:not(.voided)"));
    if (!rows.length) return;
    const selected = $("#selected-line");
    const at = rows.findIndex((r) => selected && r.dataset.lineNo === selected.value);
    choose(rows[Math.min(Math.max((at < 0 ? rows.length : at) + step, 0), rows.length - 1)]);
  }

  function moveResult(step) {
    const items = Array.from(document.querySelectorAll("#results li.result"));
    if (!items.length) return;
    const at = items.findIndex((i) => i.classList.contains("chosen"));
    items.forEach((i) => i.classList.remove("chosen"));
    const next = items[Math.min(Math.max(at + step, 0), items.length - 1)];
    next.classList.add("chosen");
    next.scrollIntoView({ block: "nearest" });
  }

  // --- keys ----------------------------------------------------------------------------------------
  function onKey(event) {
    const open = dialog();
    if (event.key === "Escape") {
      if (open) {
        event.preventDefault();
        closeDialog();
      }
      return;
    }
    if (open) {
      const kind = open.dataset.dialog;
      if (kind === "search" && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
        event.preventDefault();
        moveResult(event.key === "ArrowDown" ? 1 : -1);
      } else if (kind === "search" && event.key === "Enter") {
        const chosen = $("#results li.result.chosen");
        if (chosen) {
          event.preventDefault();
          chosen.click();
        }
      } else if (kind === "change" && event.key === "Enter" && document.activeElement !== $("#scan")) {
        event.preventDefault();
        closeDialog();
      }
      if (/^F\d+$/.test(event.key)) event.preventDefault(); // no browser help, reload or search
      return;
    }
    const button = $(`button[data-hotkey="${event.key}"]`);
    if (button) {
      event.preventDefault();
      button.click();
    } else if (/^F\d+$/.test(event.key)) {
      event.preventDefault();
    } else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      moveChoice(event.key === "ArrowDown" ? 1 : -1);
    }
  }

  // A form htmx has not taken over yet (typed into and submitted within milliseconds of appearing)
  // must not fall back to the browser's own submit, which would put a PIN in the address bar.
  function onSubmit(event) {
    const form = event.target;
    if (event.defaultPrevented || !form.matches("[hx-post], [hx-get]") || form.id === "scan-form") return;
    event.preventDefault();
    htmx.process(form);
    htmx.trigger(form, "submit");
  }

  function onClick(event) {
    const target = event.target;
    if (target.closest("[data-action=close-dialog], [data-action=next]")) {
      closeDialog();
      return;
    }
    const row = target.closest("#lines tr.line:not(.voided)");
    if (row) choose(row);
    const key = target.closest(".pinpad [data-key]");
    if (key) {
      const pin = $("#pin");
      pin.value = key.dataset.key === "clear" ? pin.value.slice(0, -1) : pin.value + key.dataset.key;
      pin.focus();
    }
    if (!target.closest("input, select, textarea, label, button, li.result, a")) refocus();
  }

  // A failure of the till's own program (not a refusal: those come back as a screen) gets a message.
  function onFailure(event) {
    const message = $("#message");
    if (!message) return;
    const lost = event.type === "htmx:sendError";
    message.textContent = lost ? document.body.dataset.noAnswer : document.body.dataset.failed;
    message.dataset.kind = "failure";
    message.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = $("#scan-form");
    if (form) form.addEventListener("submit", onScanSubmit);
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onClick);
    document.addEventListener("submit", onSubmit);
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (event.target.id !== "status") refocus();
      if (!dialog()) pump();
    });
    document.body.addEventListener("htmx:oobAfterSwap", function () {
      refocus();
    });
    document.body.addEventListener("htmx:responseError", onFailure);
    document.body.addEventListener("htmx:sendError", onFailure);
    refocus();
  });
})();

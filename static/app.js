/* Mianjing pages: math, autosave, countdown, keyboard shortcuts, practice and review checks, self-ratings.
   No inline scripts anywhere (CSP script-src 'self'); every cookie-authenticated API call sends X-CSRF-Token. */
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  function renderMath(root) {
    if (!window.katex) return;
    (root || document).querySelectorAll(".math.inline, .math.block").forEach(function (el) {
      if (el.dataset.rendered) return;
      el.dataset.rendered = "1";
      try {
        window.katex.render(el.textContent, el, { displayMode: el.classList.contains("block"), throwOnError: false });
      } catch (e) { /* leave the TeX text */ }
    });
  }

  // A matching form's answer: {left: right} of the rows chosen, in the form's order; `initial`: as rendered.
  function matchingOf(form, initial) {
    var out = {};
    form.querySelectorAll('select[name="right"]').forEach(function (s) {
      var opt = Array.prototype.find.call(s.options, function (o) { return initial ? o.defaultSelected : o.selected; });
      if (opt && opt.value) out[s.dataset.left] = opt.value;
    });
    return out;
  }

  // The answer in an answer form (interview or practice): an option key, a list of keys, {left: right} of a
  // matching item, or the text.
  function answerOf(form) {
    var type = form.dataset.type;
    if (type === "matching") return matchingOf(form, false);
    if (type === "single" || type === "truefalse") {
      var r = form.querySelector('input[name="choice"]:checked');
      return r ? r.value : null;
    }
    if (type === "multiple") {
      return Array.prototype.map.call(form.querySelectorAll('input[name="choice"]:checked'), function (c) { return c.value; });
    }
    var t = form.querySelector('[name="text"]');
    return t ? t.value : null;
  }

  // The answer as the server rendered the form (its default values): what the server holds, whatever has been
  // typed or chosen since.
  function renderedAnswerOf(form) {
    var type = form.dataset.type;
    var chosen = Array.prototype.filter.call(form.querySelectorAll('input[name="choice"]'), function (c) {
      return c.defaultChecked;
    }).map(function (c) { return c.value; });
    if (type === "matching") return matchingOf(form, true);
    if (type === "single" || type === "truefalse") return chosen.length ? chosen[0] : null;
    if (type === "multiple") return chosen;
    var t = form.querySelector('[name="text"]');
    return t ? t.defaultValue : null;
  }

  // The words for a 413 or 422 to an answer (the server refuses it as it stands, too long say): the
  // page's own sentence when the text is over the limit it knows, else the server's reason.
  // The API says why in `detail`; the practice check's fragment (templates/_check_refused.html) in its text.
  function refusalText(res, value, labels) {
    var html = (res.headers.get("Content-Type") || "").indexOf("text/html") === 0;
    var reason = html ? res.text().then(function (text) {
      var parsed = document.createElement("template");
      parsed.innerHTML = text;
      var part = parsed.content.querySelector('[data-part="refusal"]');
      return part ? part.textContent.trim() : "";
    }) : res.json().then(function (body) { return body && typeof body.detail === "string" ? body.detail : ""; });
    return reason.catch(function () { return ""; }).then(function (why) {
      var max = parseInt(labels.maxChars, 10);
      if (max && typeof value === "string" && Array.from(value).length > max) return labels.tooLong;
      return labels.refused + (why ? " " + why : "");
    });
  }

  function isRefusal(res) { return res.status === 413 || res.status === 422; }

  // How long a 429 (a rate limit or a write quota) says to wait, in ms: Retry-After in seconds, else 5 s.
  function retryAfterMs(res) {
    var seconds = parseInt(res.headers.get("Retry-After"), 10);
    return (seconds > 0 ? seconds : 5) * 1000;
  }

  function withSeconds(text, ms) { return (text || "").replace("{seconds}", String(Math.ceil(ms / 1000))); }

  function isEmpty(value) {
    return value === null || value === undefined || (typeof value === "string" && value.trim() === "") ||
      (Array.isArray(value) && value.length === 0) ||
      (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0);
  }

  // Number key n picks option n of a choice form (toggles it for multiple choice); the input, or null.
  function pickOption(form, key) {
    var type = form.dataset.type;
    if (type !== "single" && type !== "multiple" && type !== "truefalse") return null;
    var opt = form.querySelector('input[name="choice"][data-index="' + key + '"]');
    if (!opt || opt.disabled) return null;
    opt.checked = type === "multiple" ? !opt.checked : true;
    opt.focus();
    return opt;
  }

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable) return true;
    if (tag === "INPUT") {
      var type = (el.getAttribute("type") || "text").toLowerCase();
      return ["radio", "checkbox", "button", "submit", "reset"].indexOf(type) < 0;
    }
    return false;
  }

  // ---- the interview page ----------------------------------------------------------------------------
  // Moving between questions is a POST (form.move); htmx swaps #interview for the new question, and the
  // page's script starts again on the new part, so initInterview answers a function that stops it.
  function initInterview(root) {
    var id = root.dataset.interview;
    var pos = parseInt(root.dataset.position, 10);
    var form = document.getElementById("answer-form");
    var status = document.getElementById("save-status");
    var type = form ? form.dataset.type : null;
    var prefix = "mj:pending:" + id + ":";
    var timers = {}, inflight = {}, backoff = {};
    // What the server holds at each position, as far as this page knows (JSON), and what it last refused as it
    // stands: an answer equal to either is not sent again (leaving a field after its autosave saved nothing new).
    var held = {};
    // Kept across the parts of one page (refusedAnswers): a move that swaps in a new part while a refusal
    // is on its way must not send the refused text again.
    var refused = refusedAnswers[id] = refusedAnswers[id] || {};
    var refusedText = refusedAnswers[id + ":text"] = refusedAnswers[id + ":text"] || {};  // and what the page said
    var notBefore = 0;  // after a 429: no save of any position before this time (the quota is the account's)
    var finished = false, stopped = false;

    function setStatus(key, text) {
      if (!status) return;
      status.textContent = text || root.dataset["msg" + key] || "";
      status.classList.toggle("refused", key === "Refused");
    }

    function currentAnswer() {
      return form ? answerOf(form) : null;
    }

    function applyAnswer(value) {
      if (!form || value === null || value === undefined) return;
      if (type === "matching") {
        form.querySelectorAll('select[name="right"]').forEach(function (s) { s.value = value[s.dataset.left] || ""; });
      } else if (type === "single" || type === "multiple" || type === "truefalse") {
        if (value === true || value === false) value = value ? "T" : "F";  // a true/false answer sent as JSON
        var chosen = Array.isArray(value) ? value : [value];
        form.querySelectorAll('input[name="choice"]').forEach(function (c) { c.checked = chosen.indexOf(c.value) >= 0; });
      } else {
        var t = form.querySelector('[name="text"]');
        if (t) t.value = String(value);
      }
    }

    function pendingPositions() {
      var out = [];
      for (var i = 0; i < localStorage.length; i++) {
        var k = localStorage.key(i);
        if (k && k.indexOf(prefix) === 0) out.push(parseInt(k.slice(prefix.length), 10));
      }
      return out;
    }

    // Another try of position p when the server's wait is over; the pending copy stays in localStorage.
    function sendLater(p, ms) {
      clearTimeout(timers[p]);
      timers[p] = setTimeout(function () { send(p); }, ms);
    }

    function send(p) {
      var raw = localStorage.getItem(prefix + p);
      if (raw === null || finished || stopped) return Promise.resolve(true);
      if (inflight[p]) return inflight[p];
      // An edit remembered while its first send was in flight and then refused is that same text: not again.
      if (raw === refused[p]) {
        if (p === pos && refusedText[p]) setStatus("Refused", refusedText[p]);
        return Promise.resolve("refused");
      }
      var waiting = notBefore - Date.now();
      if (waiting > 0) {
        // Typing while the server asked us to wait: the edit is kept and sent when the wait is over.
        if (p === pos) setStatus("Wait", withSeconds(root.dataset.msgWait, waiting));
        sendLater(p, waiting);
        return Promise.resolve(false);
      }
      if (p === pos) setStatus("Saving");
      var value = JSON.parse(raw);
      var req = api("PUT", "/api/v1/interviews/" + id + "/answers/" + p, { answer: value })
        .then(function (res) {
          if (res.ok) {
            held[p] = raw;
            acknowledged[prefix + p] = { raw: raw, at: Date.now() };
            delete refused[p];
            // Only drop the pending copy if nothing newer was typed meanwhile.
            if (localStorage.getItem(prefix + p) === raw) localStorage.removeItem(prefix + p);
            backoff[p] = 0;
            markAnswered(p, value);
            if (p === pos) setStatus(localStorage.getItem(prefix + p) === null ? "Saved" : "Saving");
            return true;
          }
          if (res.status === 429) {
            // Saved too often (the account's or the address's write quota): not saved, nothing dropped. Wait
            // as long as the server says (Retry-After), then send the latest text once.
            var wait = retryAfterMs(res);
            notBefore = Date.now() + wait;
            if (p === pos) setStatus("Wait", withSeconds(root.dataset.msgWait, wait));
            sendLater(p, wait);
            return false;
          }
          if (res.status === 409 || res.status === 404) {
            // The interview is over (or gone): the server will not take it, stop retrying.
            localStorage.removeItem(prefix + p);
            if (res.status === 409) goToReport();
            return true;
          }
          if (isRefusal(res)) {
            // Refused as it stands (longer than the limit, say): no retry, and nothing is dropped; the text
            // stays in the form and in localStorage (a reload shows it again), and the next edit is sent.
            backoff[p] = 0;
            refused[p] = raw;
            return refusalText(res, value, { maxChars: root.dataset.maxChars, tooLong: root.dataset.msgTooLong,
                                             refused: root.dataset.msgRefused }).then(function (text) {
              refusedText[p] = text;
              if (p === pos) setStatus("Refused", text);
              return "refused";
            });
          }
          throw new Error("HTTP " + res.status);
        })
        .catch(function () {
          if (p === pos) setStatus("Offline");
          backoff[p] = Math.min(30000, (backoff[p] || 500) * 2);
          clearTimeout(timers[p]);
          timers[p] = setTimeout(function () { send(p); }, backoff[p]);
          return false;
        })
        .then(function (ok) {
          delete inflight[p];
          if (ok && localStorage.getItem(prefix + p) !== null && localStorage.getItem(prefix + p) !== raw) return send(p);
          return ok;
        });
      inflight[p] = req;
      return req;
    }

    function markAnswered(p, value) {
      var link = root.querySelector('ol.positions .pos[data-position="' + p + '"]');
      var empty = value === null || value === "" || (Array.isArray(value) && value.length === 0);
      if (link) { link.classList.toggle("answered", !empty); link.classList.toggle("open", empty); }
    }

    // Keep the current answer to send; false when there is nothing new to send. A change fires after the
    // input events it ends (a text field's when it is left, a radio's right after its input): it sends what
    // is still waiting at once, and nothing when the autosave has sent it already.
    function remember() {
      var raw = JSON.stringify(currentAnswer());
      if (!inflight[pos]) {
        if (raw === held[pos]) {
          // Back to what the server has (an edit taken back before it was sent): nothing to save.
          localStorage.removeItem(prefix + pos);
          clearTimeout(timers[pos]);
          setStatus(isEmpty(JSON.parse(raw)) ? "None" : "Saved");
          return false;
        }
        if (raw === refused[pos]) return false;  // refused as it stands: the next edit is sent
      }
      localStorage.setItem(prefix + pos, raw);
      setStatus("Saving");
      return true;
    }

    function saveSoon() {
      if (!remember()) return;
      clearTimeout(timers[pos]);
      timers[pos] = setTimeout(function () { send(pos); }, 800);
    }

    function saveNow() {
      if (!remember()) return Promise.resolve(true);
      clearTimeout(timers[pos]);
      return send(pos);
    }

    function flushAll() {
      if (form && localStorage.getItem(prefix + pos) !== null) clearTimeout(timers[pos]);
      return Promise.all(pendingPositions().map(send));
    }
    root.flushAnswers = flushAll;  // 提交 of a code item (runExamples) flushes first

    // What the server rendered is what it holds; a pending (unacknowledged) answer is newer.
    if (form) held[pos] = JSON.stringify(renderedAnswerOf(form));
    var mine = localStorage.getItem(prefix + pos);
    var acked = acknowledged[prefix + pos];
    if (form && acked && acked.at >= movedAt && acked.raw !== held[pos]) {
      // Rendered before a save it did not see: the server holds the saved answer, show that one.
      held[pos] = acked.raw;
      if (mine === null) { applyAnswer(JSON.parse(acked.raw)); setStatus("Saved"); }
    }
    if (mine !== null) { applyAnswer(JSON.parse(mine)); }
    pendingPositions().forEach(function (p) { send(p); });
    // An edit made between htmx's swap and this start (no listener heard it) is saved as any other.
    if (form && mine === null && JSON.stringify(currentAnswer()) !== held[pos]) saveSoon();

    if (form) {
      form.addEventListener("submit", function (e) { e.preventDefault(); });
      form.addEventListener("input", function (e) {
        if (e.target.name === "text") saveSoon(); else saveNow();
      });
      form.addEventListener("change", function () { saveNow(); });
    }

    // Every pending answer is sent before the move (htmx:confirm holds the request until then); never trap
    // the candidate for longer than 3 s: the pending copy stays in localStorage and is sent from the next one.
    function whenFlushed(then) {
      var done = false;
      function leave() { if (!done) { done = true; then(); } }
      flushAll().then(leave, leave);
      setTimeout(leave, 3000);
    }

    function onConfirm(e) {
      var moving = e.target.closest && e.target.closest("form.move");
      if (!moving || !root.contains(moving)) return;
      e.preventDefault();
      whenFlushed(function () { movedAt = Date.now(); e.detail.issueRequest(true); });
    }
    document.body.addEventListener("htmx:confirm", onConfirm);

    // Without htmx the form posts itself (a 303 back to the page), after the same flush.
    root.addEventListener("submit", function (e) {
      var moving = e.target;
      if (window.htmx || !moving.classList.contains("move")) return;
      e.preventDefault();
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "position";
      field.value = e.submitter ? e.submitter.value : "";
      moving.appendChild(field);
      whenFlushed(function () { moving.submit(); });
    });

    var abandonForm = document.getElementById("abandon-form");
    if (abandonForm) {
      abandonForm.addEventListener("submit", function (e) {
        if (!window.confirm(abandonForm.dataset.confirm)) { e.preventDefault(); return; }
        finished = true;  // the timer must not finish (score) it on the way out
      });
    }

    var finishForm = document.getElementById("finish-form");
    if (finishForm) {
      finishForm.addEventListener("submit", function (e) {
        e.preventDefault();
        if (!window.confirm(finishForm.dataset.confirm)) return;
        var submit = function () { finished = true; finishForm.submit(); };
        flushAll().then(submit, submit);
      });
    }

    function goToReport() {
      if (finished) return;
      finished = true;
      window.location.href = root.dataset.reportUrl;
    }

    // At zero the page asks to finish because time is up; the server decides by its own clock. Before its
    // deadline it refuses (409 with seconds_left): the countdown is set to the server's time and goes on.
    function finishNow() {
      if (finished) return;
      var warn = document.getElementById("warning");
      if (warn) warn.textContent = root.dataset.msgTimeup;
      flushAll().then(function () {
        var attempt = function (delay) {
          api("POST", "/api/v1/interviews/" + id + "/finish", { reason: "time_up" }).then(function (res) {
            if (res.ok) return goToReport();
            if (res.status !== 409) throw new Error("HTTP " + res.status);
            return res.json().catch(function () { return {}; }).then(function (body) {
              if (body && typeof body.seconds_left === "number" && body.seconds_left > 0) resync(body.seconds_left);
              else goToReport();  // over already (finished or abandoned)
            });
          }).catch(function () { setTimeout(function () { attempt(Math.min(30000, delay * 2)); }, delay); });
        };
        attempt(1000);
      });
    }

    function resync(secondsLeft) {
      if (finished || stopped) return;
      deadline = Date.now() + offset + secondsLeft * 1000;
      warned5 = remaining() <= 5 * 60000;
      warned1 = remaining() <= 60000;
      var warn = document.getElementById("warning");
      if (warn) warn.textContent = root.dataset.msgResynced || "";
      tick();
    }

    // Countdown against the server's clock: offset = server_now - client clock at load.
    var deadline = Date.parse(root.dataset.deadline);
    var offset = Date.parse(root.dataset.serverNow) - Date.now();
    var clock = document.getElementById("countdown");
    var warned5 = false, warned1 = false;
    function remaining() { return deadline - (Date.now() + offset); }
    if (remaining() <= 5 * 60000) warned5 = true; // do not announce a warning that is already past at load
    if (remaining() <= 60000) warned1 = true;
    function tick() {
      if (stopped) return;
      var ms = Math.max(0, remaining());
      var s = Math.ceil(ms / 1000);
      var m = Math.floor(s / 60);
      if (clock) {
        clock.textContent = String(m).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
        clock.classList.toggle("low", ms <= 60000);
      }
      var warn = document.getElementById("warning");
      if (!warned5 && ms <= 5 * 60000) { warned5 = true; if (warn) warn.textContent = root.dataset.msgWarn5; }
      if (!warned1 && ms <= 60000) { warned1 = true; if (warn) warn.textContent = root.dataset.msgWarn1; }
      if (ms <= 0) { finishNow(); return; }
      setTimeout(tick, 250);
    }
    tick();

    // Keyboard shortcuts.
    var dialog = document.getElementById("shortcuts");
    function onKey(e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        var next = root.querySelector('form.move button[data-move="next"]');
        if (next) next.click(); else saveNow();
        return;
      }
      if (isTyping(document.activeElement) || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === "?") {
        e.preventDefault();
        if (!dialog) return;
        if (dialog.open) dialog.close(); else dialog.showModal();
        return;
      }
      if (/^[1-9]$/.test(e.key) && form && pickOption(form, e.key)) {
        e.preventDefault();
        saveNow();
      }
    }
    document.addEventListener("keydown", onKey);

    function onOnline() { pendingPositions().forEach(function (p) { backoff[p] = 0; send(p); }); }
    window.addEventListener("online", onOnline);

    return function stop() {
      stopped = true;
      Object.keys(timers).forEach(function (p) { clearTimeout(timers[p]); });
      document.removeEventListener("keydown", onKey);
      window.removeEventListener("online", onOnline);
      document.body.removeEventListener("htmx:confirm", onConfirm);
    };
  }

  // The interview part of the page now showing, and what stops its script.
  var interview = { root: null, stop: null };
  // The last save of each position the server acknowledged ("mj:pending:<id>:<pos>" → {raw, at}), and when
  // the last move to another part was sent: a save acknowledged after that move's request left was not in
  // the part the server rendered for it (typing right after pressing a question's button).
  var acknowledged = {}, movedAt = 0;
  var refusedAnswers = {};  // interview id -> position -> the JSON the server last refused as it stands

  function startInterview(root) {
    if (interview.stop) interview.stop();
    interview.root = root;
    interview.stop = initInterview(root);
  }

  // After htmx swapped in another question: start again on it, typeset its math, move focus to it.
  function followInterviewSwaps() {
    document.body.addEventListener("htmx:afterSettle", function () {
      var root = document.getElementById("interview");
      if (!root || root === interview.root) return;
      startInterview(root);
      renderMath(root);
      var heading = document.getElementById("qhead");
      if (heading) heading.focus({ preventScroll: true });
    });
  }

  // ---- report: self-ratings and print -------------------------------------------------------------------
  function initReport(root) {
    var id = root.dataset.interview;
    root.querySelectorAll(".rating").forEach(function (group) {
      var article = group.closest("[data-position]");
      var pos = article.dataset.position;
      group.querySelectorAll("button[data-rate]").forEach(function (btn) {
        btn.addEventListener("click", function () {
          api("PUT", "/api/v1/interviews/" + id + "/ratings/" + pos, { rating: btn.dataset.rate }).then(function (res) {
            if (!res.ok) return;
            group.querySelectorAll("button[data-rate]").forEach(function (b) {
              b.classList.toggle("chosen", b === btn);
              b.setAttribute("aria-pressed", b === btn ? "true" : "false");
            });
            var st = group.querySelector(".rate-status");
            if (st) st.textContent = root.dataset.msgRated;
          });
        });
      });
    });
    var printBtn = document.getElementById("print-btn");
    if (printBtn) printBtn.addEventListener("click", function () { window.print(); });
    // The questions are collapsed on screen; a printed report has them all, then closes what it opened.
    var opened = [];
    window.addEventListener("beforeprint", function () {
      opened = Array.prototype.filter.call(root.querySelectorAll("details:not([open])"), function (d) { d.open = true; return true; });
    });
    window.addEventListener("afterprint", function () {
      opened.forEach(function (d) { d.open = false; });
      opened = [];
    });
  }

  // ---- practice and today's reviews: check at once, show the result, self-rate, next ------------------
  // The server scores the form and renders the result (POST /practice/{id}/check, templates/_check_result.html);
  // this puts it in place and wires the self-rating. The form's data-* attributes carry the words it needs.
  function localTime(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    function two(n) { return String(n).padStart(2, "0"); }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function wireRating(node) {
    var group = node.querySelector('[data-part="rating"]');
    if (!group) return;
    var status = group.querySelector(".rate-status");
    function choose(name) {
      group.querySelectorAll("button[data-rate]").forEach(function (b) {
        b.classList.toggle("chosen", b.dataset.rate === name);
        b.setAttribute("aria-pressed", b.dataset.rate === name ? "true" : "false");
      });
    }
    group.addEventListener("click", function (e) {
      var btn = e.target.closest("button[data-rate]");
      if (!btn) return;
      api("POST", "/api/v1/me/reviews/" + encodeURIComponent(node.dataset.qid) + "/rating", { rating: btn.dataset.rate }).then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      }).then(function (body) {
        choose(body.rating);
        status.textContent = node.dataset.rated;
        // An open answer waited for this rating: its card is scheduled now, and says when.
        var review = node.querySelector('[data-part="review"]');
        var due = review && review.querySelector("time");
        if (due) {
          review.querySelector(".review-text").textContent = review.dataset.scheduled;
          due.textContent = localTime(body.due);
          due.setAttribute("datetime", body.due);
          due.hidden = false;
        }
      }).catch(function () { status.textContent = node.dataset.failed; });
    });
  }

  // The fragment is the server's own rendering (autoescaped Jinja2): a <template> parses it without running
  // anything, and it goes in whole.
  function showResult(form, html) {
    var parsed = document.createElement("template");
    parsed.innerHTML = html;
    // A choice item's options come back marked (✓ / ✗ and their words): they take the form's own place.
    var marked = parsed.content.querySelector('[data-part="options"]');
    var own = form.querySelector("fieldset");
    if (marked && own) own.replaceWith(marked);
    var out = form.parentNode.querySelector(".result");
    out.replaceChildren(parsed.content);
    var node = out.querySelector(".check-result");
    if (node) wireRating(node);
    if (window.htmx) window.htmx.process(out);  // the 纠错 form posts with htmx, as it does on the report
    renderMath(form.parentNode);  // the result and the marked options now in the form (their feedback has math)
  }

  function checkPractice(form) {
    var status = form.querySelector(".form-status");
    var labels = form.dataset;
    var answer = answerOf(form);
    if (isEmpty(answer)) { status.textContent = labels.answerFirst; return; }
    var button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    status.textContent = "";
    fetch("/practice/" + encodeURIComponent(form.dataset.qid) + "/check", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf() },
      body: new URLSearchParams(new FormData(form)),
    })
      .then(function (res) {
        if (res.ok) return res.text();
        if (res.status === 429) {
          // Checked too often (the write quotas): not scored, not recorded; the text stays for another try.
          var waited = new Error(withSeconds(labels.wait, retryAfterMs(res)));
          waited.shown = waited.message;
          throw waited;
        }
        if (res.status === 401 || res.status === 503) {
          // A code item: no account yet, or no sandbox on this server; the fragment says which.
          return res.text().then(function (text) {
            var parsed = document.createElement("template");
            parsed.innerHTML = text;
            var part = parsed.content.querySelector('[data-part="refusal"]');
            var stopped = new Error("HTTP " + res.status);
            stopped.shown = part ? part.textContent.trim() : labels.failed;
            throw stopped;
          });
        }
        if (!isRefusal(res)) throw new Error("HTTP " + res.status);
        // Refused as it stands (unreadable, too long): nothing recorded; the answer stays to be corrected.
        return refusalText(res, answer, labels).then(function (text) {
          var refused = new Error(text);
          refused.shown = text;
          refused.invalid = true;
          throw refused;
        });
      })
      .then(function (html) {
        // Checked once: the answer is recorded, so the form is done; "next" brings the next question.
        form.dataset.checked = "1";
        form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
        form.querySelectorAll("input, textarea, select").forEach(function (el) { el.readOnly = true; if (el.type === "radio" || el.type === "checkbox" || el.tagName === "SELECT") el.disabled = true; });
        button.hidden = true;
        showResult(form, html);
        var next = document.querySelector("#question-slot .next-question");
        if (next) next.classList.add("primary");
      })
      .catch(function (e) {
        button.disabled = false;
        status.textContent = e.shown || labels.failed;
        var input = form.querySelector('[name="text"]');
        if (input && e.invalid) input.setAttribute("aria-invalid", "true");
        else if (input) input.removeAttribute("aria-invalid");
      });
  }

  // 手撕代码: a textarea.code-editor becomes a CodeMirror editor (static/vendor/codemirror, loaded on the first
  // page that has one); the textarea stays the form's field, kept in sync, so without the editor it still works.
  var editorScript = null;
  function loadEditor() {
    if (window.MianjingEditor) return Promise.resolve(window.MianjingEditor);
    if (!editorScript) {
      editorScript = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = "/static/vendor/codemirror/codemirror.min.js";
        s.onload = function () { resolve(window.MianjingEditor); };
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return editorScript;
  }
  function attachEditors(root) {
    var areas = root.querySelectorAll("textarea.code-editor:not([data-editor])");
    if (!areas.length) return;
    loadEditor().then(function (ed) {
      areas.forEach(function (area) {
        if (area.dataset.editor) return;
        area.dataset.editor = "1";
        area.editor = ed.attach(area, { label: area.dataset.label });
      });
    }).catch(function () { /* the plain textarea stays */ });
  }
  // 运行示例: the shown examples only, not scored; the verdict table goes under the editor.
  function runExamples(button) {
    var form = button.closest("form");
    if (button.dataset.saved && interview.root && interview.root.flushAnswers) {
      // 提交 in an interview judges what the server holds: the autosave goes first.
      var flushed = interview.root.flushAnswers();
      var go = function () { postRun(button, form, true); };
      flushed.then(go, go);
      return;
    }
    postRun(button, form, false);
  }
  function postRun(button, form, saved) {
    var out = form.querySelector(".code-run");
    var status = form.querySelector(".form-status");
    var label = button.textContent;
    button.disabled = true;
    button.textContent = button.dataset.running;
    fetch(button.dataset.run, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf() },
      body: saved ? new URLSearchParams() : new URLSearchParams({ text: form.querySelector('[name="text"]').value }),
    })
      .then(function (res) {
        if (res.status === 429) throw Object.assign(new Error(""), { shown: withSeconds(form.dataset.wait, retryAfterMs(res)) });
        return res.text().then(function (html) { return { ok: res.ok, html: html }; });
      })
      .then(function (r) {
        var parsed = document.createElement("template");
        parsed.innerHTML = r.html;
        out.replaceChildren(parsed.content);
        if (status) status.textContent = "";
      })
      .catch(function (e) { if (status) status.textContent = e.shown || form.dataset.failed; })
      .finally(function () { button.disabled = false; button.textContent = label; });
  }

  function initPractice() {
    attachEditors(document);
    document.addEventListener("click", function (e) {
      var button = e.target.closest("button.run-examples");
      if (button) { e.preventDefault(); runExamples(button); }
    });
    document.addEventListener("submit", function (e) {
      var form = e.target.closest("form.practice-form");
      if (!form) return;
      e.preventDefault();
      if (!form.dataset.checked) checkPractice(form);
    });
    document.addEventListener("keydown", function (e) {
      var form = document.querySelector("#question-slot form.practice-form");
      if (!form) return;
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        var next = document.querySelector("#question-slot .next-question");
        if (form.dataset.checked) { if (next) next.click(); } else checkPractice(form);
        return;
      }
      if (/^[1-9]$/.test(e.key) && !isTyping(document.activeElement) && !e.altKey && !e.ctrlKey && !e.metaKey &&
          !form.dataset.checked && pickOption(form, e.key)) e.preventDefault();
    });
    // After htmx swaps in the next question: typeset its math and move focus to it (not after a swap of the
    // star and note widget, which typesets itself: the candidate is writing there).
    document.body.addEventListener("htmx:afterSettle", function (e) {
      if (inMarkWidget(e.target)) return;
      var slot = document.getElementById("question-slot");
      if (!slot) return;
      renderMath(slot);
      attachEditors(slot);
      var heading = document.getElementById("pq-title");
      if (heading) heading.focus();
    });
  }

  // A form that asks before it posts (form.confirm-first, its question in data-confirm): abandoning a running
  // interview to start its round again, say. Without JavaScript the page it is on is the explicit step.
  function initConfirmForms() {
    document.addEventListener("submit", function (e) {
      var form = e.target;
      if (form.classList && form.classList.contains("confirm-first") && !window.confirm(form.dataset.confirm)) {
        e.preventDefault();
      }
    });
  }

  // The browser's time zone, so that the candidate's days (due reviews, the forecast, "today") are their own:
  // sent once, when the account's stored zone (body[data-timezone], signed in only) is not the browser's.
  function reportTimeZone() {
    var stored = document.body.dataset.timezone;
    if (stored === undefined) return;
    var tz = "";
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
    if (!tz || tz === stored) return;
    api("PATCH", "/api/v1/me/settings", { timezone: tz }).then(function (res) {
      if (res.ok) document.body.dataset.timezone = tz;
    }).catch(function () { /* the next page tries again */ });
  }

  // htmx swaps no 4xx/5xx answer; an error fragment aimed at the page's error area (app/errors.py) is let in.
  function showHtmxErrors() {
    document.body.addEventListener("htmx:beforeRequest", function () {
      var area = document.getElementById("htmx-error");
      if (area) area.textContent = "";
    });
    document.body.addEventListener("htmx:beforeSwap", function (e) {
      var xhr = e.detail.xhr;
      var retarget = xhr.getResponseHeader("HX-Retarget") || "";
      // a refused note comes back as its widget, saying why and keeping the text (app/web/marks.py)
      if (xhr.status >= 400 && (retarget === "#htmx-error" || retarget.indexOf("#mark-") === 0)) {
        e.detail.shouldSwap = true;
        e.detail.isError = false;
      }
    });
  }

  // ---- my star and note on a question (templates/_mark.html): typeset the note htmx swapped in ----------
  function inMarkWidget(el) {
    return !!(el && el.closest && el.closest(".qmark"));
  }

  function followMarkSwaps() {
    document.body.addEventListener("htmx:afterSettle", function (e) {
      if (!inMarkWidget(e.target)) return;
      var mark = e.target.closest(".qmark");
      renderMath(mark);
      var button = mark.querySelector("button.star");
      if (button && e.detail.requestConfig && e.detail.requestConfig.path.slice(-5) === "/star") button.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    showHtmxErrors();
    followMarkSwaps();
    renderMath(document);
    var iv = document.getElementById("interview");
    if (iv) { startInterview(iv); followInterviewSwaps(); }
    var rep = document.getElementById("report");
    if (rep) initReport(rep);
    initPractice();
    initConfirmForms();
    reportTimeZone();
  });
})();

/* Daybreak console: small conveniences shared by every page (no libraries).
 * "/" focuses the queue search, like most search boxes; it never fires while typing. */
(function () {
  "use strict";
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "/" || evt.ctrlKey || evt.metaKey || evt.altKey) {
      return;
    }
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      return;
    }
    var search = document.getElementById("q");
    if (search) {
      search.focus();
      search.select();
      evt.preventDefault();
    }
  });
})();

/* The case page's export panel: fetch the pre-submission check after the page has
 * loaded (it reads the case's records and may load the receivers' schemas, so it is
 * its own request). Without scripts the panel keeps its link to the check page. */
(function () {
  "use strict";
  function loadCheck() {
    var box = document.getElementById("export-check");
    if (!box || !box.dataset.src || !window.fetch) {
      return;
    }
    box.setAttribute("aria-busy", "true");
    fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.text().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (result) {
        if (!result.ok) {
          return; // the link to the check page stays; it shows the error itself
        }
        // Server-rendered and escaped by the console's own templates (same origin).
        var parsed = new DOMParser().parseFromString(result.body, "text/html");
        var fragment = parsed.querySelector(".export-check");
        if (fragment) {
          box.replaceChildren(document.importNode(fragment, true));
          // The check offers only the exports this case can make and says why the
          // others cannot; the generic list above it would offer downloads that fail.
          var generic = document.querySelector("#exports ul.exports");
          if (generic) {
            generic.remove();
          }
        }
      })
      .catch(function () {})
      .then(function () {
        box.removeAttribute("aria-busy");
      });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", loadCheck);
  } else {
    loadCheck();
  }
})();

/* Focus return: after an action the server redirects back to the page at the place
 * acted on (#note-form, #assign-form, #row-CASE-… in the queue). The message the
 * action left is moved next to that place and focused, so that a screen reader reads
 * it and the next Tab continues in the same form; a queue row gets its case link
 * focused. Without scripts the address's fragment still scrolls there. */
(function () {
  "use strict";
  function returnFocus() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    if (!id) {
      return;
    }
    // An action's form can be gone afterwards (a case that is triaged offers no triage).
    var target = document.getElementById(id) || (/-form$/.test(id) && document.getElementById("actions"));
    if (!target) {
      return;
    }
    var flashes = document.querySelectorAll("main > .flash");
    if (flashes.length && target.tagName !== "TR") {
      for (var i = 0; i < flashes.length; i++) {
        target.parentNode.insertBefore(flashes[i], target);
      }
      flashes[0].setAttribute("tabindex", "-1");
      flashes[0].focus();
      return;
    }
    var link = target.tagName === "TR" ? target.querySelector("a.case-link") : null;
    if (link) {
      link.focus();
      return;
    }
    target.setAttribute("tabindex", "-1");
    target.focus();
  }
  // After "load": the browser's own scroll to the fragment comes after the document is
  // parsed and would take the focus back to the page.
  function later() {
    window.setTimeout(returnFocus, 0);
  }
  if (document.readyState === "complete") {
    later();
  } else {
    window.addEventListener("load", later);
  }
})();

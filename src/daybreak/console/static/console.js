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

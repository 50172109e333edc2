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

/* Small progressive enhancements for the public pages (no inline scripts: strict CSP ready).
 * - "/" focuses the search box; Escape in it clears the query.
 * - The "Apply" buttons stay for use without JavaScript; with htmx every change applies at once.
 */
(function () {
  "use strict";

  function searchBox() {
    return document.getElementById("id_q");
  }

  document.addEventListener("keydown", function (event) {
    var box = searchBox();
    if (!box) return;
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
    } else if (event.key === "Escape" && target === box && box.value) {
      box.value = "";
      box.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });

  document.documentElement.classList.add("js");

  // On a narrow screen the filters start folded, so the results come first; without
  // JavaScript they stay open and the page still works.
  var disclosure = document.getElementById("filters-disclosure");
  if (disclosure && window.matchMedia("(max-width: 52rem)").matches) {
    disclosure.removeAttribute("open");
  }
})();

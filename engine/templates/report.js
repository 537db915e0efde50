
// The ranked table: sort by a column, filter by region, tier, band and edition. No network.
(function () {
  "use strict";
  var table = document.getElementById("ranked-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  rows.forEach(function (row, i) { row.setAttribute("data-i", String(i)); });
  var filters = Array.prototype.slice.call(document.querySelectorAll("#ranked-filters select"));
  var count = document.getElementById("ranked-count");

  function apply() {
    var shown = 0;
    rows.forEach(function (row) {
      var ok = filters.every(function (f) {
        return !f.value || (row.getAttribute("data-" + f.name) || "").split(" ").indexOf(f.value) >= 0;
      });
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " snapshots shown";
  }

  function key(row, col, numeric) {
    var cell = row.cells[col];
    var v = cell.getAttribute("data-v");
    if (v === null) { v = cell.textContent.trim(); }
    return numeric && !isNaN(Number(v)) ? Number(v) : v.toLowerCase();
  }

  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var col = th.cellIndex;
      var numeric = th.hasAttribute("data-num");
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      rows.sort(function (a, b) {
        var x = key(a, col, numeric), y = key(b, col, numeric);
        var c = x < y ? -1 : x > y ? 1 : 0;
        if (!ascending) { c = -c; }
        return c || Number(a.getAttribute("data-i")) - Number(b.getAttribute("data-i"));
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
  filters.forEach(function (f) { f.addEventListener("change", apply); });
  document.getElementById("ranked-filters").addEventListener("submit", function (e) { e.preventDefault(); });
  apply();
  document.documentElement.setAttribute("data-script", "ready");
}());

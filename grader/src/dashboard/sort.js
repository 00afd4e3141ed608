// Sorts a table.sortable by the column whose header button is clicked (again: reversed).
// A cell's data-sort, when present, is its key; th[data-type=num] compares numbers.
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", function () {
      var up = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var num = th.dataset.type === "num";
      var key = function (row) {
        var cell = row.cells[col];
        var k = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
        return num ? (k === "" ? -Infinity : Number(k)) : k;
      };
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var c = num ? (x === y ? 0 : x < y ? -1 : 1) : String(x).localeCompare(String(y));
        return up ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});

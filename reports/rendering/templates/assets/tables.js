// Sort and paginate the report's tables; the only script, allowed by its hash in the CSP.
// Tables marked class="sortable" get a button per header; data-page-size paginates.
// Labels come from data-* attributes the template wrote, so this text never changes.
(function () {
  "use strict";
  function value(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var raw = cell.getAttribute("data-value");
    if (raw !== null && raw !== "" && !isNaN(Number(raw))) { return Number(raw); }
    return (cell.textContent || "").trim().toLowerCase();
  }
  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a).localeCompare(String(b));
  }
  function paginate(table, state) {
    var size = Number(table.getAttribute("data-page-size")) || 0;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    if (!size || rows.length <= size || state.all) {
      rows.forEach(function (row) { row.hidden = false; });
      if (state.info) { state.info.textContent = ""; }
      return;
    }
    var pages = Math.ceil(rows.length / size);
    state.page = Math.min(Math.max(state.page, 0), pages - 1);
    rows.forEach(function (row, i) { row.hidden = Math.floor(i / size) !== state.page; });
    state.info.textContent = (table.getAttribute("data-label-page") || "")
      .replace("{page}", String(state.page + 1)).replace("{pages}", String(pages));
  }
  function pager(table, state) {
    var size = Number(table.getAttribute("data-page-size")) || 0;
    if (!size || table.tBodies[0].rows.length <= size) { return; }
    var bar = document.createElement("div");
    bar.className = "pager";
    function button(label, action) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.addEventListener("click", function () { action(); paginate(table, state); });
      bar.appendChild(b);
      return b;
    }
    button(table.getAttribute("data-label-previous") || "<", function () { state.page -= 1; });
    state.info = document.createElement("span");
    bar.appendChild(state.info);
    button(table.getAttribute("data-label-next") || ">", function () { state.page += 1; });
    button(table.getAttribute("data-label-all") || "*", function () { state.all = !state.all; });
    var wrap = table.parentNode;
    wrap.parentNode.insertBefore(bar, wrap.nextSibling);
  }
  function sortable(table, state) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      if (th.hasAttribute("data-nosort")) { return; }
      var b = document.createElement("button");
      b.type = "button";
      while (th.firstChild) { b.appendChild(th.firstChild); }
      th.appendChild(b);
      b.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var c = compare(value(r1, index), value(r2, index));
          return ascending ? c : -c;
        });
        rows.forEach(function (row) { body.appendChild(row); });
        state.page = 0;
        paginate(table, state);
      });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable, table[data-page-size]"),
    function (table) {
      var state = { page: 0, all: false, info: null };
      if (table.classList.contains("sortable")) { sortable(table, state); }
      pager(table, state);
      paginate(table, state);
    });
}());

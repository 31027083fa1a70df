"""The page's inline assets: CSS, the sortable-table script and the paged trial-table script.

``SORT_JS`` sorts a static ``table.sortable`` (its rows are in the HTML) on a header click.
``PAGED_JS`` drives ``div.paged`` tables whose rows are JSON in a ``<script type="application/json">``
(the trial table): the whole list is sorted in JS and one page of rows is in the DOM at a time, so a
page of 1,000 trials lays out 100 rows, not 1,000.
"""

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1b1b;
background:#fafafa}
header{background:#20364f;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.85;font-size:12px}header a{color:#cfe3ff}
nav.toc{font-size:12px;margin-top:6px}nav.toc a{margin-right:10px}
main{padding:8px 24px 40px;max-width:1400px}
section.section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;margin:14px 0;
padding:6px 16px 14px}
section.section h2{font-size:16px;margin:10px 0 8px}h2.study{font-size:18px;margin:26px 0 0}
figure.plot{display:inline-block;margin:6px 12px 6px 0;vertical-align:top;max-width:100%}
figure.plot svg{max-width:100%;height:auto}figure.plot figcaption{font-size:12px;color:#555}
p.note{color:#555;font-style:italic}p.notice{background:#fff4ce;border:1px solid #e9d27a;padding:8px 12px}
table{border-collapse:collapse;font-size:12px}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th{background:#f2f4f7;position:sticky;top:0}td.text,th.text{text-align:left}
table.kv td:first-child{text-align:left;color:#555;white-space:nowrap}table.kv td{text-align:left}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:hover{background:#e3e8f0}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
div.scroll{max-height:560px;overflow:auto;border:1px solid #eee}
tr.best td{background:#fff1f0}code,pre{font:12px ui-monospace,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:300px}
.state-FAILED{color:#b00020}.state-PRUNED{color:#8a6d00}.state-RUNNING{color:#1565c0}
tr[data-state=FAILED] td:nth-child(2){color:#b00020}tr[data-state=PRUNED] td:nth-child(2){color:#8a6d00}
tr[data-state=RUNNING] td:nth-child(2){color:#1565c0}
div.pager{margin:6px 0;font-size:12px}div.pager button{margin-right:6px}
"""

#: click a header of a ``table.sortable`` to sort by it (numbers numerically, missing values last)
SORT_JS = """
(function(){
  function key(cell, numeric){
    if (!numeric) return cell.textContent.toLowerCase();
    var v = cell.getAttribute('data-v');
    return (v === null || v === '') ? null : parseFloat(v);
  }
  function sortBy(table, col, th){
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) heads[h].removeAttribute('aria-sort');
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var numeric = th.getAttribute('data-type') === 'num';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function(r, i){ return [key(r.cells[col], numeric), i, r]; });
    keyed.sort(function(a, b){
      if (a[0] === null || b[0] === null) return (a[0] === null) - (b[0] === null) || a[1] - b[1];
      if (a[0] < b[0]) return asc ? -1 : 1;
      if (a[0] > b[0]) return asc ? 1 : -1;
      return a[1] - b[1];
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function(k){ frag.appendChild(k[2]); });
    body.appendChild(frag);
  }
  var tables = document.querySelectorAll('table.sortable:not(.paged)');
  Array.prototype.forEach.call(tables, function(table){
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function(th, col){
      th.addEventListener('click', function(){ sortBy(table, col, th); });
      th.addEventListener('keydown', function(e){ if (e.key === 'Enter') sortBy(table, col, th); });
    });
  });
})();
"""


#: a trial table: rows in JSON, sorted in JS, one page of rows in the DOM at a time
PAGED_JS = """
(function(){
  function setup(root){
    var spec = JSON.parse(root.querySelector('script.rows').textContent);
    var table = root.querySelector('table'), body = table.tBodies[0];
    var heads = table.tHead.rows[0].cells, pos = root.querySelector('.pos');
    var order = spec.rows.map(function(_, i){ return i; }), at = 0, size = spec.page;
    function key(i, col){
      var k = spec.keys[col];
      if (k) return k[i];
      return spec.rows[i][col].toLowerCase();
    }
    function draw(){
      var frag = document.createDocumentFragment(), end = Math.min(order.length, at + size);
      for (var n = at; n < end; n++){
        var i = order[n], row = spec.rows[i], tr = document.createElement('tr');
        tr.setAttribute('data-state', spec.states[i]);
        if (i === spec.best) tr.className = 'best';
        for (var c = 0; c < row.length; c++){
          var td = document.createElement('td');
          if (!spec.keys[c]) td.className = 'text';
          td.textContent = row[c];
          tr.appendChild(td);
        }
        frag.appendChild(tr);
      }
      body.textContent = '';
      body.appendChild(frag);
      pos.textContent = order.length ? ('rows ' + (at + 1) + '-' + end + ' of ' + order.length) : 'no rows';
    }
    function sortBy(col, th){
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      for (var h = 0; h < heads.length; h++) heads[h].removeAttribute('aria-sort');
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      order.sort(function(a, b){
        var x = key(a, col), y = key(b, col);
        if (x === null || y === null) return (x === null) - (y === null) || a - b;
        if (x < y) return asc ? -1 : 1;
        if (x > y) return asc ? 1 : -1;
        return a - b;
      });
      at = 0;
      draw();
    }
    Array.prototype.forEach.call(heads, function(th, col){
      th.addEventListener('click', function(){ sortBy(col, th); });
      th.addEventListener('keydown', function(e){ if (e.key === 'Enter') sortBy(col, th); });
    });
    root.querySelector('button.prev').addEventListener('click', function(){
      at = Math.max(0, at - size); draw();
    });
    root.querySelector('button.next').addEventListener('click', function(){
      if (at + size < order.length) { at += size; draw(); }
    });
    root.querySelector('button.all').addEventListener('click', function(){
      size = size === spec.page ? Math.max(order.length, 1) : spec.page; at = 0; draw();
    });
    draw();
  }
  Array.prototype.forEach.call(document.querySelectorAll('div.paged'), setup);
})();
"""

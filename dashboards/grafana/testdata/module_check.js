// Loads plugin/module.js the way Grafana's AMD loader would, with stand-ins for the libraries
// Grafana shares with plugins, and checks what the module registers. Run by TestFrontendModule:
//   node testdata/module_check.js plugin/module.js <query types, comma-separated>
'use strict';
const assert = require('assert');
const fs = require('fs');
const vm = require('vm');

const [modulePath, queryTypes] = process.argv.slice(2);
// The module runs in its own realm: compare its values by content.
const same = (got, want, msg) => assert.deepStrictEqual(JSON.parse(JSON.stringify(got)), want, msg);

// Stand-ins: createElement builds a plain tree; components are named functions.
const React = { createElement: (type, props, ...children) => ({ type, props: props || {}, children: children.flat() }) };
const component = (name) => { const f = () => null; Object.defineProperty(f, 'name', { value: name }); return f; };
const ui = {};
for (const n of ['InlineField', 'InlineFieldRow', 'Select', 'Input', 'SecretInput']) ui[n] = component(n);
class DataSourcePlugin {
  constructor(ds) { this.DataSourceClass = ds; this.components = {}; }
  setConfigEditor(c) { this.components.ConfigEditor = c; return this; }
  setQueryEditor(c) { this.components.QueryEditor = c; return this; }
}
class DataSourceWithBackend {}
const runtime = {
  DataSourceWithBackend,
  getTemplateSrv: () => ({ replace: (s, scoped) => s.replace(/\$(\w+)/g, (m, v) => (scoped && scoped[v] ? scoped[v].value : ({ stream: 's-42', kol: 'k-7' })[v] || m)) }),
};
const shared = { react: React, '@grafana/data': { DataSourcePlugin }, '@grafana/runtime': runtime, '@grafana/ui': ui };

let exported;
const define = (deps, factory) => { exported = factory(...deps.map((d) => { assert.ok(d in shared, `unknown dependency ${d}`); return shared[d]; })); };
vm.runInNewContext(fs.readFileSync(modulePath, 'utf8'), { define, Object }, { filename: modulePath });

const plugin = exported.plugin;
assert.ok(plugin instanceof DataSourcePlugin, 'module.plugin is not a DataSourcePlugin');
assert.ok(plugin.components.ConfigEditor && plugin.components.QueryEditor, 'editors not set');
same(exported.QUERY_TYPES.map((t) => t.value), queryTypes.split(','), 'query types differ from the backend');

const ds = new plugin.DataSourceClass();
assert.ok(ds instanceof DataSourceWithBackend);
same(
  ds.applyTemplateVariables({ refId: 'A', queryType: 'stream_minutes', streamId: '$stream', kolId: '$kol', kind: '' }, {}),
  { refId: 'A', queryType: 'stream_minutes', streamId: 's-42', kolId: 'k-7', kind: '' });
assert.strictEqual(ds.filterQuery({ queryType: 'flags' }), true);
assert.strictEqual(ds.filterQuery({ queryType: 'nonsense' }), false);
assert.strictEqual(ds.filterQuery({ queryType: 'live', hide: true }), false);
same(ds.getDefaultQuery(), { queryType: 'live' });

// The query editor: the type selector, then one input per field the type reads.
const find = (tree, name, out = []) => {
  if (tree && typeof tree === 'object') {
    if (tree.type && tree.type.name === name) out.push(tree);
    (tree.children || []).forEach((c) => find(c, name, out));
  }
  return out;
};
for (const t of exported.QUERY_TYPES) {
  let changed, ran = 0;
  const tree = plugin.components.QueryEditor({ query: { refId: 'A', queryType: t.value }, onChange: (q) => { changed = q; }, onRunQuery: () => { ran++; } });
  assert.strictEqual(find(tree, 'Input').length, t.fields.length, `${t.value}: inputs`);
  find(tree, 'Select')[0].props.onChange({ value: 'flags' });
  same([changed, ran], [{ refId: 'A', queryType: 'flags' }, 1], `${t.value}: changing the type`);
  for (const input of find(tree, 'Input')) {
    input.props.onChange({ currentTarget: { value: 'x' } });
    assert.strictEqual(Object.values(changed).includes('x'), true, `${t.value}: typing in an input`);
  }
}

// The config editor: URL, and a token that goes to secureJsonData only.
let options;
const cfg = plugin.components.ConfigEditor({ options: { url: '', jsonData: {}, secureJsonFields: {} }, onOptionsChange: (o) => { options = o; } });
find(cfg, 'Input')[0].props.onChange({ currentTarget: { value: 'http://livepulse:8080' } });
assert.strictEqual(options.url, 'http://livepulse:8080');
find(cfg, 'SecretInput')[0].props.onChange({ currentTarget: { value: 'tok' } });
same([options.secureJsonData, options.jsonData], [{ token: 'tok' }, {}]);
find(cfg, 'SecretInput')[0].props.onReset();
same([options.secureJsonFields.token, options.secureJsonData.token], [false, '']);
console.log('module.js ok');

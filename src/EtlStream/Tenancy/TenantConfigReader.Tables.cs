using EtlStream.State;
using EtlStream.Tables;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tenancy;

public static partial class TenantConfigReader
{
    private static ChangedFilePolicy Invalid(NodeReader r, string path, string message)
    {
        r.Error(path, message);
        return ChangedFilePolicy.Skip;
    }

    /// <param name="declared">Every table named under <c>tables:</c>, read or not: one whose schema failed is not also an unknown table.</param>
    /// <param name="schemaFailed">Whether a schema file the tenant reads has errors (reported once, with the schema's file).</param>
    private static Dictionary<string, TenantTable> ReadTables(NodeReader r, YamlMappingNode root, TenantSchemas schemas, out HashSet<string> declared, out bool schemaFailed)
    {
        var tables = new Dictionary<string, TenantTable>(StringComparer.Ordinal);
        declared = new HashSet<string>(StringComparer.Ordinal);
        schemaFailed = false;
        if (r.Child(root, "tables") is not YamlMappingNode m)
        {
            r.Error("tables", "required: a mapping of table name to { schema, files }");
            return tables;
        }

        foreach (var (keyNode, node) in m.Children)
        {
            if (r.KeyName(keyNode, "tables") is not { } name)
            {
                continue;
            }

            var path = $"tables.{name}";
            declared.Add(name);
            if (node is not YamlMappingNode t)
            {
                r.Error(path, "a mapping: { schema, files }");
                continue;
            }

            r.CheckKeys(t, path, TableKeys);
            var schemaName = r.String(t, path, "schema") ?? name;
            var files = r.RequiredString(t, path, "files");
            if (files is not null && !files.Contains("{date}", StringComparison.Ordinal))
            {
                r.Error($"{path}.files", $"'{files}' has no {{date}} placeholder");
            }

            var spec = schemas.Read(schemaName, r, $"{path}.schema", out var broken);
            schemaFailed |= broken;
            if (spec is null || files is null)
            {
                continue;
            }

            spec = ApplyOverrides(r, t, path, spec);
            var lateDays = r.Int(t, path, "late_days") ?? TenantTable.DefaultLateDays;
            if (lateDays is < 0 or > 366)
            {
                r.Error($"{path}.late_days", $"{lateDays}: expected 0 to 366 days");
            }

            var onChanged = r.String(t, path, "on_changed") switch
            {
                null or "skip" => ChangedFilePolicy.Skip,
                "replace_partition" => ChangedFilePolicy.ReplacePartition,
                var other => Invalid(r, $"{path}.on_changed", $"'{other}': expected skip or replace_partition"),
            };
            var watermarkColumn = r.String(t, path, "watermark_column");
            if (watermarkColumn is not null && !spec.Columns.Any(c =>
                    c.Name.Equals(watermarkColumn, StringComparison.Ordinal) && c.Computed is null
                    && c.Type.Kind is ColumnKind.Int8 or ColumnKind.Int16 or ColumnKind.Int32 or ColumnKind.Int64 or ColumnKind.Date or ColumnKind.Timestamp))
            {
                r.Error($"{path}.watermark_column", $"'{watermarkColumn}': expected an integer, date or timestamp column read from the files");
            }

            tables[name] = new TenantTable(name, schemaName, spec with { Name = name }, files, spec.Key)
            {
                LateDays = lateDays,
                OnChanged = onChanged,
                WatermarkColumn = watermarkColumn,
            };
        }

        return tables;
    }

    /// <summary><c>mapping</c> points columns at other source headers; <c>computed</c> replaces or adds computed columns.</summary>
    private static TableSpec ApplyOverrides(NodeReader r, YamlMappingNode t, string path, TableSpec spec)
    {
        var columns = spec.Columns.ToList();
        if (r.Child(t, "mapping") is YamlMappingNode mapping)
        {
            foreach (var (k, v) in mapping.Children)
            {
                if (r.KeyName(k, $"{path}.mapping") is not { } column)
                {
                    continue;
                }

                var i = columns.FindIndex(c => string.Equals(c.Name, column, StringComparison.OrdinalIgnoreCase));
                if (i < 0 || columns[i].Computed is not null)
                {
                    r.Error($"{path}.mapping.{column}", $"'{column}' is not a column of schema '{spec.Name}' read from the source");
                    continue;
                }

                columns[i] = columns[i] with { Source = (v as YamlScalarNode)?.Value };
            }
        }

        if (r.Child(t, "computed") is YamlMappingNode computed)
        {
            foreach (var (k, v) in computed.Children)
            {
                if (r.KeyName(k, $"{path}.computed") is not { } column)
                {
                    continue;
                }

                var holder = new YamlMappingNode { { "computed", v } };
                if (TableSpecReader.ReadComputed(r, holder, $"{path}.computed.{column}") is not { } c)
                {
                    continue;
                }

                var i = columns.FindIndex(x => string.Equals(x.Name, column, StringComparison.OrdinalIgnoreCase));
                if (i >= 0 && columns[i].Computed is null)
                {
                    r.Error($"{path}.computed.{column}", $"'{column}' is read from the source in schema '{spec.Name}'; only computed columns can be overridden");
                }
                else if (i >= 0)
                {
                    columns[i] = columns[i] with { Computed = c };
                }
                else
                {
                    columns.Add(new ColumnSpec { Name = column, Type = c is LoadDateSpec ? new ColumnType(ColumnKind.Date) : ColumnType.String, Computed = c });
                }
            }
        }

        TableSpecReader.CheckReferences(r, columns, [.. columns.Select((_, i) => $"{path}.columns[{i}]")], [.. spec.Filters]);
        return spec with { Columns = columns };
    }

    /// <summary>
    /// The shared schemas, each read once for every tenant: its spec, or its errors, kept with the schema's own file
    /// and reported once, however many tenants read it.
    /// </summary>
    private sealed class SchemaCache(string configRoot)
    {
        private readonly Dictionary<string, TableSpec?> _specs = new(StringComparer.Ordinal);
        private readonly Dictionary<string, HashSet<string>> _used = new(StringComparer.Ordinal);

        public List<string> Errors { get; } = [];

        public TenantSchemas For(string tenant)
        {
            var files = new HashSet<string>(StringComparer.Ordinal);
            _used[tenant] = files;
            return new TenantSchemas(this, files);
        }

        /// <summary>The schema files a tenant reads.</summary>
        public IReadOnlyCollection<string> UsedBy(string tenant) => _used.TryGetValue(tenant, out var files) ? files : [];

        public TableSpec? Read(string name, NodeReader r, string path, HashSet<string> used, out bool broken)
        {
            var file = Path.Combine(configRoot, "schemas", name + ".yaml");
            used.Add(file);
            if (_specs.TryGetValue(name, out var known))
            {
                broken = known is null;
                return known;
            }

            broken = false;
            if (!File.Exists(file))
            {
                // The tenant's error, not the schema's: each tenant naming it is told.
                r.Error(path, $"no schema '{name}' ({file} is missing)");
                return null;
            }

            try
            {
                return _specs[name] = TableSpecReader.ReadFile(file);
            }
            catch (ConfigException e)
            {
                Errors.AddRange(e.Errors);
                _specs[name] = null;
                broken = true;
                return null;
            }
        }
    }

    private sealed class TenantSchemas(SchemaCache cache, HashSet<string> used)
    {
        public TableSpec? Read(string name, NodeReader r, string path, out bool broken) => cache.Read(name, r, path, used, out broken);
    }
}

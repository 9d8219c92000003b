using EtlStream.State;
using EtlStream.Tables;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tenancy;

/// <summary>
/// Reads <c>configs/tenants/&lt;id&gt;/tenant.yaml</c> with the shared schemas of <c>configs/schemas/</c>, applies the
/// tenant's overrides and checks everything at once: unknown keys, missing schemas, columns, steps and secrets,
/// dependency cycles, and a database or folder that another tenant owns. Every error names its file and path.
/// </summary>
public static class TenantConfigReader
{
    private static readonly string[] RootKeys = ["tenant", "display_name", "database", "source", "sink", "tables", "jobs", "rls"];
    private static readonly string[] SourceKeys = ["kind", "path", .. Sources.SourceStores.SettingsByKind.Values.SelectMany(k => k).Distinct()];
    private static readonly string[] SinkKeys = ["kind", "path", "password", "sslmode"];
    private static readonly string[] TableKeys = ["schema", "files", "mapping", "computed", "late_days", "on_changed", "watermark_column"];
    private static readonly string[] StepKeys = ["name", "tables", "mode", "after"];
    private static readonly string[] RlsKeys = ["access_table", "user_variable", "views", "readers"];
    private static readonly string[] SinkKinds = ["duckdb", "starrocks", "doris", "postgres", "mysql", "mariadb", "clickhouse", "parquet"];
    private static readonly string[] ViewKeys = ["table", "view", "column"];

    /// <summary>The tenant ids under <c>&lt;configRoot&gt;/tenants</c>; folders starting with <c>_</c> are templates.</summary>
    public static IReadOnlyList<string> TenantIds(string configRoot)
    {
        var folder = Path.Combine(configRoot, "tenants");
        return Directory.Exists(folder)
            ? [.. Directory.GetDirectories(folder).Select(Path.GetFileName).OfType<string>().Where(n => !n.StartsWith('_')).Order(StringComparer.Ordinal)]
            : [];
    }

    /// <summary>Reads one tenant, checking it against all the others; throws <see cref="ConfigException"/> with every error.</summary>
    public static TenantConfig Read(string configRoot, string tenantId)
    {
        if (!TenantIds(configRoot).Contains(tenantId, StringComparer.Ordinal))
        {
            throw new ConfigException([$"no tenant '{tenantId}' under {Path.Combine(configRoot, "tenants")} (tenants: {string.Join(", ", TenantIds(configRoot))})"]);
        }

        var all = ReadAll(configRoot, out var errors);
        return errors.Count == 0 ? all.Single(t => t.Id == tenantId) : throw new ConfigException(errors);
    }

    /// <summary>Reads every tenant; the errors of all of them are collected, not just the first.</summary>
    public static IReadOnlyList<TenantConfig> ReadAll(string configRoot, out List<string> errors)
    {
        errors = [];
        var tenants = new List<TenantConfig>();
        var schemas = new Dictionary<string, TableSpec>(StringComparer.Ordinal);
        foreach (var id in TenantIds(configRoot))
        {
            if (ReadOne(configRoot, id, schemas, errors) is { } t)
            {
                tenants.Add(t);
            }
        }

        foreach (var group in tenants.GroupBy(t => t.Database, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            foreach (var t in group.Skip(1))
            {
                errors.Add($"{TenantFile(t.Folder)}: database: '{t.Database}' belongs to tenant '{group.First().Id}'");
            }
        }

        foreach (var group in tenants.GroupBy(t => Path.GetFullPath(t.Sink.Path), StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            foreach (var t in group.Skip(1))
            {
                errors.Add($"{TenantFile(t.Folder)}: sink.path: '{t.Sink.Path}' belongs to tenant '{group.First().Id}'");
            }
        }

        foreach (var group in tenants.GroupBy(t => t.Source.Location, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            foreach (var t in group.Skip(1))
            {
                errors.Add($"{TenantFile(t.Folder)}: source.path: '{t.Source.Path}' ({t.Source.Location}) belongs to tenant '{group.First().Id}'");
            }
        }

        return tenants;
    }

    private static string TenantFile(string folder) => Path.Combine(folder, "tenant.yaml");

    private static TenantConfig? ReadOne(string configRoot, string id, Dictionary<string, TableSpec> schemas, List<string> errors)
    {
        var folder = Path.Combine(configRoot, "tenants", id);
        var file = TenantFile(folder);
        if (!File.Exists(file))
        {
            errors.Add($"{file}: missing");
            return null;
        }

        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(file)));
            root = stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode m ? m : throw new ConfigException([$"{file}: a tenant is a mapping"]);
        }
        catch (YamlException e)
        {
            errors.Add($"{file}:{e.Start.Line}:{e.Start.Column}: invalid YAML: {e.Message}");
            return null;
        }
        catch (ConfigException e)
        {
            errors.AddRange(e.Errors);
            return null;
        }

        var before = errors.Count;
        var r = new NodeReader(file, errors);
        var secrets = Secrets.ForFolder(folder);
        r.CheckKeys(root, "", RootKeys);
        var tenantId = r.RequiredString(root, "", "tenant");
        if (tenantId is not null && tenantId != id)
        {
            r.Error("tenant", $"'{tenantId}' does not match its folder '{id}'");
        }

        var database = r.RequiredString(root, "", "database");
        var source = ReadSource(r, root, secrets);
        var sink = ReadSink(r, root, secrets);
        var tables = ReadTables(r, root, configRoot, schemas, errors);
        var jobs = ReadJobs(r, root, tables);
        var rls = ReadRls(r, root, tables);
        if (rls is not null && sink?.Kind == "clickhouse")
        {
            // Verified on 18.16: a user whose allow_databases holds only a view's database is refused the view
            // ("Access denied to database <base>"), so per-tenant view databases cannot restrict rows either.
            r.Error("rls", "ClickHouse 18.16 has no row-level security (no row policies, no currentUser(), and a view does not lift database access): remove rls from a clickhouse tenant");
        }
        if (errors.Count > before || tenantId is null || database is null || source is null || sink is null)
        {
            return null;
        }

        return new TenantConfig
        {
            Id = id,
            DisplayName = r.String(root, "", "display_name") ?? id,
            Database = database,
            Folder = folder,
            Source = source,
            Sink = sink,
            Tables = tables,
            Jobs = jobs,
            Rls = rls,
        };
    }

    private static string? Resolved(NodeReader r, YamlMappingNode m, string path, string key, Secrets secrets)
    {
        var text = r.String(m, path, key);
        if (text is null)
        {
            return null;
        }

        var value = secrets.Resolve(text, out var missing);
        foreach (var name in missing)
        {
            r.Error($"{path}.{key}", $"secret ${{{name}}} is not set (set the environment variable or add it to the tenant's .env)");
        }

        return value;
    }

    private static SourceConfig? ReadSource(NodeReader r, YamlMappingNode root, Secrets secrets)
    {
        if (r.Child(root, "source") is not YamlMappingNode m)
        {
            r.Error("source", "required: { kind: local, path: <folder> }, { kind: azure, container: <name>, ... } or { kind: s3, bucket: <name>, ... }");
            return null;
        }

        r.CheckKeys(m, "source", SourceKeys);
        var kind = r.RequiredString(m, "source", "kind");
        if (kind is null)
        {
            return null;
        }

        if (!Sources.SourceStores.SettingsByKind.TryGetValue(kind, out var kindKeys))
        {
            r.Error("source.kind", $"'{kind}' is not supported (local, azure, s3)");
            return null;
        }

        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in SourceKeys.Skip(2))
        {
            if (Resolved(r, m, "source", key, secrets) is not { } v)
            {
                continue;
            }

            if (!kindKeys.Contains(key, StringComparer.Ordinal))
            {
                r.Error($"source.{key}", $"not a setting of a {kind} source ({string.Join(", ", ["path", .. kindKeys])})");
                continue;
            }

            settings[key] = v;
        }

        var path = Resolved(r, m, "source", "path", secrets) ?? "";
        var problems = Sources.SourceStores.Validate(kind, path, settings);
        foreach (var problem in problems)
        {
            var colon = problem.IndexOf(": ", StringComparison.Ordinal);
            r.Error(problem[..colon], problem[(colon + 2)..]);
        }

        return problems.Count > 0 ? null : new SourceConfig(kind, path, settings);
    }

    private static SinkConfig? ReadSink(NodeReader r, YamlMappingNode root, Secrets secrets)
    {
        if (r.Child(root, "sink") is not YamlMappingNode m)
        {
            r.Error("sink", "required: { kind: duckdb, path: <file> }");
            return null;
        }

        r.CheckKeys(m, "sink", SinkKeys);
        var kind = r.RequiredString(m, "sink", "kind");
        if (kind is not null && !SinkKinds.Contains(kind, StringComparer.Ordinal))
        {
            r.Error("sink.kind", $"'{kind}' is not supported yet ({string.Join(", ", SinkKinds)})");
        }

        kind = kind == "mariadb" ? "mysql" : kind; // one sink, one ledger name, whichever the tenant calls it

        var path = Resolved(r, m, "sink", "path", secrets);
        if (path is null)
        {
            r.Error("sink.path", "required");
        }

        var password = Resolved(r, m, "sink", "password", secrets);
        if (r.String(m, "sink", "sslmode") is { } sslmode && path is not null)
        {
            path = WithSslMode(r, kind, path, sslmode);
        }

        if (kind is "starrocks" or "doris" && path is not null)
        {
            try
            {
                var target = Sinks.StarRocks.StarRocksTarget.Parse(path, "t", password ?? string.Empty);
                var database = r.String(root, "", "database");
                if (database is not null && !target.Database.Equals(database, StringComparison.Ordinal))
                {
                    r.Error("sink.path", $"the target's database '{target.Database}' is not the tenant's database '{database}'");
                }
            }
            catch (ArgumentException e)
            {
                r.Error("sink.path", e.Message);
            }
        }

        if (kind is "postgres" or "mysql" or "clickhouse" && path is not null)
        {
            try
            {
                var targetDatabase = TenantJobRunner.ServerDatabase(new SinkConfig(kind, path, password));
                var database = r.String(root, "", "database");
                if (database is not null && !targetDatabase.Equals(database, StringComparison.Ordinal))
                {
                    r.Error("sink.path", $"the target's database '{targetDatabase}' is not the tenant's database '{database}'");
                }
            }
            catch (ArgumentException e)
            {
                r.Error("sink.path", e.Message);
            }
        }

        return kind is null || path is null ? null : new SinkConfig(kind, path, password);
    }

    /// <summary>
    /// <c>sink.sslmode</c> becomes the PostgreSQL target's <c>sslmode=</c>, where the target parser validates it once for
    /// the CLI and tenants alike; a path that sets it too would leave two answers, so that is an error.
    /// </summary>
    private static string WithSslMode(NodeReader r, string? kind, string path, string sslmode)
    {
        if (kind != "postgres")
        {
            r.Error("sink.sslmode", $"only a postgres sink takes sslmode (this sink is {kind})");
            return path;
        }

        if (sslmode.ToLowerInvariant() is not ("require" or "verify-ca" or "verify-full"))
        {
            r.Error("sink.sslmode", $"unknown sslmode '{sslmode}' (expected require, verify-ca or verify-full)");
            return path;
        }

        if (path.Contains("sslmode=", StringComparison.OrdinalIgnoreCase))
        {
            r.Error("sink.sslmode", "sink.path sets sslmode= too: give it in one place");
            return path;
        }

        return path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "sslmode=" + sslmode.ToLowerInvariant();
    }

    private static ChangedFilePolicy Invalid(NodeReader r, string path, string message)
    {
        r.Error(path, message);
        return ChangedFilePolicy.Skip;
    }

    private static Dictionary<string, TenantTable> ReadTables(NodeReader r, YamlMappingNode root, string configRoot, Dictionary<string, TableSpec> schemas, List<string> errors)
    {
        var tables = new Dictionary<string, TenantTable>(StringComparer.Ordinal);
        if (r.Child(root, "tables") is not YamlMappingNode m)
        {
            r.Error("tables", "required: a mapping of table name to { schema, files }");
            return tables;
        }

        foreach (var (keyNode, node) in m.Children)
        {
            var name = ((YamlScalarNode)keyNode).Value ?? "";
            var path = $"tables.{name}";
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

            var spec = Schema(configRoot, schemaName, schemas, errors, r, $"{path}.schema");
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

    private static TableSpec? Schema(string configRoot, string name, Dictionary<string, TableSpec> schemas, List<string> errors, NodeReader r, string path)
    {
        if (schemas.TryGetValue(name, out var known))
        {
            return known;
        }

        var file = Path.Combine(configRoot, "schemas", name + ".yaml");
        if (!File.Exists(file))
        {
            r.Error(path, $"no schema '{name}' ({file} is missing)");
            return null;
        }

        try
        {
            return schemas[name] = TableSpecReader.ReadFile(file);
        }
        catch (ConfigException e)
        {
            errors.AddRange(e.Errors);
            return null;
        }
    }

    /// <summary><c>mapping</c> points columns at other source headers; <c>computed</c> replaces or adds computed columns.</summary>
    private static TableSpec ApplyOverrides(NodeReader r, YamlMappingNode t, string path, TableSpec spec)
    {
        var columns = spec.Columns.ToList();
        if (r.Child(t, "mapping") is YamlMappingNode mapping)
        {
            foreach (var (k, v) in mapping.Children)
            {
                var column = ((YamlScalarNode)k).Value ?? "";
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
                var column = ((YamlScalarNode)k).Value ?? "";
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

    private static Dictionary<string, JobConfig> ReadJobs(NodeReader r, YamlMappingNode root, Dictionary<string, TenantTable> tables)
    {
        var jobs = new Dictionary<string, JobConfig>(StringComparer.Ordinal);
        if (r.Child(root, "jobs") is not YamlMappingNode m)
        {
            r.Error("jobs", "required: a mapping of job name to { steps }");
            return jobs;
        }

        foreach (var (keyNode, node) in m.Children)
        {
            var name = ((YamlScalarNode)keyNode).Value ?? "";
            var path = $"jobs.{name}";
            if (node is not YamlMappingNode job || r.Child(job, "steps") is not YamlSequenceNode steps)
            {
                r.Error(path, "a mapping with a list of steps");
                continue;
            }

            r.CheckKeys(job, path, ["steps"]);
            var list = new List<JobStep>();
            for (var i = 0; i < steps.Children.Count; i++)
            {
                var sp = $"{path}.steps[{i}]";
                if (steps.Children[i] is not YamlMappingNode s)
                {
                    r.Error(sp, "a step is { name, tables, mode, after }");
                    continue;
                }

                r.CheckKeys(s, sp, StepKeys);
                var stepName = r.RequiredString(s, sp, "name") ?? $"step{i + 1}";
                var stepTables = r.Strings(s, sp, "tables") ?? [];
                foreach (var t in stepTables.Where(t => !tables.ContainsKey(t)))
                {
                    r.Error($"{sp}.tables", $"unknown table '{t}'");
                }

                var modeText = r.String(s, sp, "mode") ?? "append";
                StepMode? mode = modeText switch { "append" => StepMode.Append, "merge" => StepMode.Merge, "replace" => StepMode.Replace, _ => null };
                if (mode is null)
                {
                    r.Error($"{sp}.mode", $"unknown mode '{modeText}' (expected append, merge or replace)");
                }

                foreach (var t in stepTables.Where(t => mode == StepMode.Merge && tables.TryGetValue(t, out var tt) && tt.Key.Count == 0))
                {
                    r.Error($"{sp}.mode", $"merge needs a key, and the schema of '{t}' declares none");
                }

                list.Add(new JobStep(stepName, stepTables, mode ?? StepMode.Append, r.Strings(s, sp, "after") ?? []));
            }

            CheckOrder(r, path, list);
            jobs[name] = new JobConfig(name, list);
        }

        return jobs;
    }

    private static void CheckOrder(NodeReader r, string path, List<JobStep> steps)
    {
        var names = steps.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            foreach (var a in steps[i].After.Where(a => !names.Contains(a)))
            {
                r.Error($"{path}.steps[{i}].after", $"unknown step '{a}'");
            }
        }

        if (JobPlan.Order(steps) is null)
        {
            r.Error(path, "the steps' 'after' dependencies form a cycle");
        }
    }

    private static RlsConfig? ReadRls(NodeReader r, YamlMappingNode root, Dictionary<string, TenantTable> tables)
    {
        if (r.Child(root, "rls") is not YamlMappingNode m)
        {
            return null;
        }

        r.CheckKeys(m, "rls", RlsKeys);
        var views = new List<RlsView>();
        if (r.Child(m, "views") is YamlSequenceNode seq)
        {
            for (var i = 0; i < seq.Children.Count; i++)
            {
                var vp = $"rls.views[{i}]";
                if (seq.Children[i] is not YamlMappingNode v)
                {
                    r.Error(vp, "a view is { table, view, column }");
                    continue;
                }

                r.CheckKeys(v, vp, ViewKeys);
                var table = r.RequiredString(v, vp, "table");
                var column = r.RequiredString(v, vp, "column");
                if (table is null || column is null)
                {
                    continue;
                }

                if (!tables.TryGetValue(table, out var t))
                {
                    r.Error($"{vp}.table", $"unknown table '{table}'");
                    continue;
                }

                if (!t.Spec.Columns.Any(c => string.Equals(c.Name, column, StringComparison.OrdinalIgnoreCase)))
                {
                    r.Error($"{vp}.column", $"table '{table}' has no column '{column}'");
                }

                views.Add(new RlsView(table, r.String(v, vp, "view") ?? $"secure_{table}", column));
            }
        }

        return new RlsConfig(r.String(m, "rls", "access_table") ?? "user_access", r.String(m, "rls", "user_variable") ?? "etlstream_user", views)
        {
            Readers = r.Strings(m, "rls", "readers") ?? [],
        };
    }
}

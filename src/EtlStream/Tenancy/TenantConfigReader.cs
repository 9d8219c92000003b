using System.Text.RegularExpressions;
using EtlStream.State;
using EtlStream.Tables;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tenancy;

/// <summary>
/// Reads <c>configs/tenants/&lt;id&gt;/tenant.yaml</c> with the shared schemas of <c>configs/schemas/</c>, applies the
/// tenant's overrides and checks everything at once: unknown keys, missing schemas, columns, steps and secrets,
/// dependency cycles, and a database or folder that another tenant owns. Every error names its file and path.
/// </summary>
public static partial class TenantConfigReader
{
    private static readonly string[] RootKeys = ["tenant", "display_name", "database", "source", "sink", "tables", "jobs", "rls", "memory_budget"];
    private static readonly string[] SinkKeys = ["kind", "path", "password", "sslmode"];
    private static readonly string[] TableKeys = ["schema", "files", "mapping", "computed", "late_days", "on_changed", "watermark_column"];
    private static readonly string[] StepKeys = ["name", "tables", "mode", "after"];
    private static readonly string[] RlsKeys = ["access_table", "user_variable", "views", "readers"];
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
    public static IReadOnlyList<TenantConfig> ReadAll(string configRoot, out List<string> errors) => ReadAll(configRoot, out errors, out _);

    /// <summary>
    /// What <c>validate</c> reports: every error of <paramref name="tenantId"/> (or of every tenant), each shared
    /// schema's own errors once with the schema file's path, and how many tenants are valid.
    /// </summary>
    public static IReadOnlyList<string> Validate(string configRoot, string? tenantId, out int valid)
    {
        var ids = TenantIds(configRoot);
        var tenants = ReadAll(configRoot, out var errors, out var schemas);
        if (tenantId is null)
        {
            valid = tenants.Count;
            return ids.Count == 0
                ? [$"no tenants under {Path.Combine(configRoot, "tenants")}: add one by copying {Path.Combine(configRoot, "tenants", "_template")} to {Path.Combine(configRoot, "tenants", "<id>")}"]
                : errors;
        }

        valid = 1;
        if (!ids.Contains(tenantId, StringComparer.Ordinal))
        {
            return [$"no tenant '{tenantId}' under {Path.Combine(configRoot, "tenants")} (tenants: {string.Join(", ", ids)})"];
        }

        // The tenant's own errors (isolation errors naming it start with its file too), and those of the schemas it reads.
        var file = TenantFile(Path.Combine(configRoot, "tenants", tenantId)) + ":";
        var used = schemas.UsedBy(tenantId);
        return [.. errors.Where(e => e.StartsWith(file, StringComparison.Ordinal) || used.Any(u => e.StartsWith(u + ":", StringComparison.Ordinal)))];
    }

    private static IReadOnlyList<TenantConfig> ReadAll(string configRoot, out List<string> errors, out SchemaCache schemas)
    {
        errors = [];
        var tenants = new List<TenantConfig>();
        schemas = new SchemaCache(configRoot);
        var tenantErrors = new List<string>();
        foreach (var id in TenantIds(configRoot))
        {
            if (ReadOne(configRoot, id, schemas, tenantErrors) is { } t)
            {
                tenants.Add(t);
            }
        }

        // A shared schema's errors once, with its own file, before the tenants' (a schema is read by every tenant using it).
        errors.AddRange(schemas.Errors);
        errors.AddRange(tenantErrors);

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

    private static TenantConfig? ReadOne(string configRoot, string id, SchemaCache schemas, List<string> errors)
    {
        var folder = Path.Combine(configRoot, "tenants", id);
        var file = TenantFile(folder);
        if (!File.Exists(file))
        {
            errors.Add($"{file}: missing");
            return null;
        }

        var node = YamlFile.LoadRoot(File.ReadAllText(file), file, errors, out var failed);
        if (failed)
        {
            return null;
        }

        if (node is not YamlMappingNode root)
        {
            errors.Add($"{file}: a tenant is a mapping");
            return null;
        }

        var before = errors.Count;
        var r = new NodeReader(file, errors);
        var secrets = Secrets.ForFolder(folder);
        r.CheckKeys(root, "", RootKeys);
        CheckPlaceholders(r, root, "");
        var tenantId = r.RequiredString(root, "", "tenant");
        if (tenantId is not null && tenantId != id)
        {
            r.Error("tenant", $"'{tenantId}' does not match its folder '{id}'");
        }

        var database = r.RequiredString(root, "", "database");
        var memoryBudget = ReadMemoryBudget(r, root);
        // Relative paths start at the folder holding configs/, wherever etlstream was started.
        var home = Path.GetDirectoryName(Path.GetFullPath(configRoot)) ?? Path.GetFullPath(configRoot);
        var source = ReadSource(r, root, secrets, home);
        var sink = ReadSink(r, root, secrets, home);
        var tables = ReadTables(r, root, schemas.For(id), out var declared, out var schemaFailed);
        var jobs = ReadJobs(r, root, tables, declared);
        var rls = ReadRls(r, root, tables, declared);
        if (rls is not null && sink?.Provider.Capabilities.NoRowLevelSecurity is { } noRls)
        {
            r.Error("rls", noRls);
        }

        if (errors.Count > before || schemaFailed || tenantId is null || database is null || source is null || sink is null)
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
            MemoryBudget = memoryBudget,
        };
    }

    /// <summary><c>memory_budget: 512MiB</c>, held to the same floor as <c>--memory-budget</c>.</summary>
    private static long? ReadMemoryBudget(NodeReader r, YamlMappingNode root)
    {
        if (r.String(root, "", "memory_budget") is not { } text)
        {
            return null;
        }

        if (!ByteSize.TryParse(text, out var bytes))
        {
            r.Error("memory_budget", $"expected a size such as 256MiB or 1GiB, got '{text}'");
            return null;
        }

        if (bytes < Pipeline.LoadOptions.MinMemoryBudget)
        {
            r.Error("memory_budget", $"must be at least 16 MiB, got {ByteSize.Format(bytes)}");
            return null;
        }

        return bytes;
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

    private static SourceConfig? ReadSource(NodeReader r, YamlMappingNode root, Secrets secrets, string home)
    {
        if (r.Child(root, "source") is not YamlMappingNode m)
        {
            r.Error("source", $"required: {Sources.SourceStoreRegistry.ConfigForms}");
            return null;
        }

        var settingKeys = Sources.SourceStoreRegistry.Settings;
        r.CheckKeys(m, "source", ["kind", "path", .. settingKeys]);
        var kind = r.RequiredString(m, "source", "kind");
        if (kind is null)
        {
            return null;
        }

        if (Sources.SourceStoreRegistry.ForKind(kind) is not { } provider)
        {
            r.Error("source.kind", Sources.SourceStoreRegistry.NotSupported(kind));
            return null;
        }

        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in settingKeys)
        {
            if (Resolved(r, m, "source", key, secrets) is not { } v)
            {
                continue;
            }

            if (!provider.Settings.Contains(key, StringComparer.Ordinal))
            {
                r.Error($"source.{key}", $"not a setting of a {kind} source ({string.Join(", ", ["path", .. provider.Settings])})");
                continue;
            }

            settings[key] = v;
        }

        var source = new SourceConfig(kind, provider.ResolvePath(Resolved(r, m, "source", "path", secrets) ?? "", home), settings);
        provider.ProtectSecrets(source);
        var problems = provider.Validate(source);
        foreach (var (at, message) in problems)
        {
            r.Error(at, message);
        }

        return problems.Count > 0 ? null : source;
    }

    private static SinkConfig? ReadSink(NodeReader r, YamlMappingNode root, Secrets secrets, string home)
    {
        if (r.Child(root, "sink") is not YamlMappingNode m)
        {
            r.Error("sink", "required: { kind: duckdb, path: <file> }");
            return null;
        }

        r.CheckKeys(m, "sink", SinkKeys);
        var kind = r.RequiredString(m, "sink", "kind");
        var provider = kind is null ? null : Sinks.SinkRegistry.ForKind(kind);
        if (kind is not null && provider is null)
        {
            r.Error("sink.kind", $"'{kind}' is not supported yet ({string.Join(", ", Sinks.SinkRegistry.TenantKinds)})");
        }

        var path = Resolved(r, m, "sink", "path", secrets);
        if (path is null)
        {
            r.Error("sink.path", "required");
        }

        var password = Resolved(r, m, "sink", "password", secrets);
        if (provider is null || path is null)
        {
            return null;
        }

        if (r.String(m, "sink", "sslmode") is { } sslmode)
        {
            path = WithSslMode(r, provider, path, sslmode);
        }

        // An alias is read as its kind: one sink, one ledger name, whichever the tenant calls it.
        var sink = new SinkConfig(provider.Kind, path, password);
        foreach (var (at, message) in provider.Validate(sink, r.String(root, "", "database")))
        {
            r.Error(at, message);
        }

        return sink with { Path = provider.ResolvePath(path, home) };
    }

    /// <summary>
    /// <c>sink.sslmode</c> becomes the PostgreSQL target's <c>sslmode=</c>, where the target parser validates it once for
    /// the CLI and tenants alike; a path that sets it too would leave two answers, so that is an error.
    /// </summary>
    private static string WithSslMode(NodeReader r, Sinks.SinkProvider provider, string path, string sslmode)
    {
        if (!provider.TakesSslMode)
        {
            var kinds = Sinks.SinkRegistry.Providers.Where(p => p.TakesSslMode).Select(p => p.Kind);
            r.Error("sink.sslmode", $"only a {string.Join(" or ", kinds)} sink takes sslmode (this sink is {provider.Kind})");
            return path;
        }

        if (!Sinks.Sql.ServerTarget.SslModes.Contains(sslmode.ToLowerInvariant(), StringComparer.Ordinal))
        {
            r.Error("sink.sslmode", $"unknown sslmode '{sslmode}' (expected {Sinks.Sql.ServerTarget.SslModeList})");
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
            var name = ((YamlScalarNode)keyNode).Value ?? "";
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

    private static Dictionary<string, JobConfig> ReadJobs(NodeReader r, YamlMappingNode root, Dictionary<string, TenantTable> tables, HashSet<string> declared)
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
                foreach (var t in stepTables.Where(t => !declared.Contains(t)))
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

    private static RlsConfig? ReadRls(NodeReader r, YamlMappingNode root, Dictionary<string, TenantTable> tables, HashSet<string> declared)
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
                    if (!declared.Contains(table))
                    {
                        r.Error($"{vp}.table", $"unknown table '{table}'");
                    }

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

    /// <summary>
    /// A value still holding one of the template's <c>&lt;...&gt;</c> placeholders (<c>datawiz_&lt;id&gt;</c>): a copy
    /// of <c>_template</c> whose blanks were not filled must not validate, nor create <c>datawiz_&lt;id&gt;.duckdb</c>.
    /// </summary>
    private static void CheckPlaceholders(NodeReader r, YamlNode node, string path)
    {
        switch (node)
        {
            case YamlScalarNode { Value: { } text } when Placeholder().Match(text) is { Success: true } match:
                r.Error(path.Length == 0 ? "(document)" : path, $"{match.Value} is a placeholder from the template: replace it with this tenant's value");
                break;
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children)
                {
                    var name = (key as YamlScalarNode)?.Value ?? "";
                    CheckPlaceholders(r, key, path.Length == 0 ? name : $"{path}.{name}");
                    CheckPlaceholders(r, value, path.Length == 0 ? name : $"{path}.{name}");
                }

                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    CheckPlaceholders(r, sequence.Children[i], $"{path}[{i}]");
                }

                break;
        }
    }

    [GeneratedRegex(@"<[A-Za-z][^<>\r\n]*>", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

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

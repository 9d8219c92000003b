using System.Text.RegularExpressions;
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
}

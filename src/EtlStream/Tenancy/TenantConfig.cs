using EtlStream.Tables;

namespace EtlStream.Tenancy;

/// <summary>One tenant (distributor): its database, where its files arrive, its tables, jobs and row-level security.</summary>
public sealed record TenantConfig
{
    public required string Id { get; init; }

    public required string DisplayName { get; init; }

    /// <summary>The tenant's own database, e.g. <c>datawiz_pidilite</c>. No two tenants may share one.</summary>
    public required string Database { get; init; }

    /// <summary>The tenant's folder under <c>configs/tenants/</c>.</summary>
    public required string Folder { get; init; }

    public required SourceConfig Source { get; init; }

    public required SinkConfig Sink { get; init; }

    public required IReadOnlyDictionary<string, TenantTable> Tables { get; init; }

    public required IReadOnlyDictionary<string, JobConfig> Jobs { get; init; }

    public RlsConfig? Rls { get; init; }

    /// <summary><c>memory_budget</c>: what each table load's mesh may hold (null: the default); <c>--memory-budget</c> overrides it.</summary>
    public long? MemoryBudget { get; init; }
}

/// <summary>
/// Where a tenant's files arrive: a store <see cref="Kind"/> from <see cref="Sources.SourceStoreRegistry"/>, its
/// <see cref="Path"/> (a folder, or a folder inside a container or bucket, as the kind reads it) and its
/// <see cref="Settings"/>, resolved, secrets included: never print them.
/// </summary>
public sealed record SourceConfig(string Kind, string Path, IReadOnlyDictionary<string, string> Settings)
{
    /// <summary>The store's provider, which everything kind-specific goes through.</summary>
    public Sources.SourceStoreProvider Provider => Sources.SourceStoreRegistry.Get(Kind);

    /// <summary>Where the source lists from, without secrets: a full folder path, or a URL with account or endpoint.</summary>
    public string Location => Provider.Location(this);

    /// <summary>The store the tenant's files are listed from; <paramref name="reads"/> replaces its ranged-read blocks.</summary>
    public Sources.ISourceStore CreateStore(Sources.RangedReadOptions? reads = null) => Provider.Create(this, reads);

    /// <summary>Never prints a setting.</summary>
    public override string ToString() => $"{Kind}: {Path}";
}

/// <summary>
/// The tenant's warehouse: a sink <see cref="Kind"/> from <see cref="Sinks.SinkRegistry"/> (an alias already read as
/// its kind), its <see cref="Path"/> (a file, a folder or a <c>&lt;scheme&gt;://user@host/&lt;tenant database&gt;</c>
/// target, as the kind reads it) and the password (a <c>${NAME}</c> secret).
/// </summary>
public sealed record SinkConfig(string Kind, string Path, string? Password = null)
{
    /// <summary>The sink's provider, which everything kind-specific goes through.</summary>
    public Sinks.SinkProvider Provider => Sinks.SinkRegistry.Get(Kind);

    /// <summary>A database server reached through the shared staged-sink protocol (<see cref="Sinks.Sql.SqlStagedSink"/>).</summary>
    public bool IsServer => Provider.Capabilities.Server;

    /// <summary>A database with a ledger table of its own (<c>_etlstream_ledger</c>) beside the rows (see <see cref="Sinks.SinkCapabilities.ExactlyOnce"/>).</summary>
    public bool HealsFromTarget => Provider.Capabilities.HealsFromTarget;

    /// <summary>Never prints the password.</summary>
    public override string ToString() => $"{Kind}: {Path}";
}

/// <summary>A table of the tenant: the shared schema with the tenant's overrides applied, and its file pattern.</summary>
public sealed record TenantTable(string Name, string SchemaName, TableSpec Spec, string FilePattern, IReadOnlyList<string> Key)
{
    public const int DefaultLateDays = 7;

    /// <summary>How many days before the watermark a run still looks for files that arrived late (<c>late_days</c>).</summary>
    public int LateDays { get; init; } = DefaultLateDays;

    /// <summary>What a run does with a re-uploaded file (same name, new version): <c>on_changed</c>.</summary>
    public State.ChangedFilePolicy OnChanged { get; init; } = State.ChangedFilePolicy.Skip;

    /// <summary>
    /// <c>watermark_column</c>: an integer, date or timestamp column whose largest loaded value is remembered; a later
    /// append loads only rows above it (for sources that re-export what they exported before).
    /// </summary>
    public string? WatermarkColumn { get; init; }
}

public sealed record JobConfig(string Name, IReadOnlyList<JobStep> Steps);

/// <summary>A step of a job: load these tables in this mode, after these other steps.</summary>
public sealed record JobStep(string Name, IReadOnlyList<string> Tables, StepMode Mode, IReadOnlyList<string> After);

public enum StepMode
{
    /// <summary>Add the run date's rows.</summary>
    Append,

    /// <summary>Replace rows whose key is in the run date's file, add the rest (incremental dimensions).</summary>
    Merge,

    /// <summary>Replace the whole table's content atomically (the evening full refresh).</summary>
    Replace,
}

/// <summary>Secure views: rows of <see cref="RlsView.Table"/> whose <see cref="RlsView.Column"/> the current user is mapped to.</summary>
public sealed record RlsConfig(string AccessTable, string UserVariable, IReadOnlyList<RlsView> Views)
{
    /// <summary>
    /// Database users (PostgreSQL roles, MySQL user names at any host) that <c>init-db</c> lets read the secured tables
    /// (PostgreSQL) or views (MySQL) and the access table; each sees only the rows the access table maps them to.
    /// </summary>
    public IReadOnlyList<string> Readers { get; init; } = [];
}

public sealed record RlsView(string Table, string View, string Column);

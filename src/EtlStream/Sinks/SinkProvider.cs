using EtlStream.Tenancy;
using EtlStream.Transforms;
using Microsoft.Extensions.Logging;

namespace EtlStream.Sinks;

/// <summary>
/// Everything the engine knows about one kind of sink, in the sink's own folder: how a <c>--to</c> target and a
/// tenant.yaml <c>sink:</c> section build it, what it can do, how <c>init-db</c> prepares its database, where its own
/// ledger is read from and how <c>explain</c> shows it. Found by kind, alias or scheme in <see cref="SinkRegistry"/>,
/// so that nothing outside the sink's folder and the registry names it.
/// </summary>
public abstract class SinkProvider
{
    /// <summary>tenant.yaml's <c>sink.kind</c> and the first part of the ledger's target names (<c>duckdb:db/table</c>).</summary>
    public abstract string Kind { get; }

    /// <summary>Other <c>sink.kind</c> names read as <see cref="Kind"/>: one sink, one ledger name, whichever the tenant writes.</summary>
    public virtual IReadOnlyList<string> Aliases => [];

    /// <summary>The <c>--to</c> schemes (before the first <c>:</c>) this provider parses; none for a tenant-only sink.</summary>
    public abstract IReadOnlyList<string> Schemes { get; }

    /// <summary>The <c>--to</c> form, as help, the README and the "Supported forms" of a target error show it.</summary>
    public abstract string TargetForm { get; }

    /// <summary>File extensions a bare <c>--to</c> path with them is suggested this scheme for (<c>x.parquet</c>: did you mean parquet:x.parquet?).</summary>
    public virtual IReadOnlyList<string> FileExtensions => [];

    /// <summary>
    /// What a valid target loads into, without connecting: the table, what it appends to (the ad-hoc ledger's key;
    /// null for a sink every load replaces whole, or one whose labels make a reload send nothing) and a DuckDB file.
    /// </summary>
    public virtual TargetDescription DescribeTarget(string target, string defaultTable) => new(defaultTable, null, null);

    public abstract SinkCapabilities Capabilities { get; }

    /// <summary>A sink for a <c>--to</c> target; <paramref name="defaultTable"/> names the table when the target does not.</summary>
    /// <exception cref="ArgumentException">The target is malformed; the message names it (password redacted) and why.</exception>
    public abstract IBatchSink CreateFromTarget(string target, string defaultTable);

    /// <summary>
    /// Problems of a tenant's <c>sink:</c> section, each with its config path (<c>sink.path</c>): a target that does
    /// not parse, or that names another database than the tenant's <paramref name="database"/>.
    /// </summary>
    public virtual IReadOnlyList<(string Path, string Message)> Validate(SinkConfig sink, string? database) => [];

    /// <summary>tenant.yaml's <c>sink.sslmode</c> is added to the target as <c>sslmode=</c>, which this sink's target parser checks.</summary>
    public virtual bool TakesSslMode => false;

    /// <summary><c>sink.path</c> as the tenant's sinks use it: a file or folder is made absolute against <paramref name="home"/>.</summary>
    public virtual string ResolvePath(string path, string home) => path;

    /// <summary>The sink of one table load of a tenant (a <c>--to</c>-only sink, <see cref="SinkCapabilities.Tenants"/> false, has none).</summary>
    public virtual IBatchSink CreateTenantSink(TenantSinkContext context) => throw NotATenantSink();

    /// <summary><c>init-db</c>: creates what is missing (database, tables, access table, secure views); one line per thing.</summary>
    public virtual Task<IReadOnlyList<string>> InitDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken) => throw NotATenantSink();

    /// <summary>
    /// The rows of the target's own <c>_etlstream_ledger</c> for <paramref name="target"/> (only called when
    /// <see cref="SinkCapabilities.HealsFromTarget"/>): what the sink committed, booked or not.
    /// </summary>
    public virtual Task<IReadOnlyList<Sql.LedgerRow>> ReadLedgerAsync(TenantConfig tenant, TenantTable table, string target, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{Kind} keeps no ledger table of its own");

    /// <summary>
    /// Why <c>--reload</c> of a load in <paramref name="mode"/> (append or merge) is unsafe here, or null. The default:
    /// a merge replaces rows by key; an append would load the files' rows a second time.
    /// </summary>
    public virtual string? ReloadProblem(TenantConfig tenant, string step, TenantTable table, StepMode mode)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        return mode == StepMode.Append
            ? $"--reload: step {step} appends to {table.Name} in {Kind}, so rows the files already put there would be loaded a second time. Delete them first and run `etlstream ledger forget` for the files, or reload through a replace step (files the table's own _etlstream_ledger no longer lists load again without --reload)"
            : null;
    }

    /// <summary>
    /// How a table load is written, for <c>explain</c>: the sink a run would build, asked for its concurrency and
    /// chunking. Building a sink connects to nothing.
    /// </summary>
    public virtual async ValueTask<SinkDescription> DescribeAsync(TenantConfig tenant, TenantTable table, StepMode mode)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        var sink = CreateTenantSink(new TenantSinkContext(tenant, table, mode));
        await using (sink.ConfigureAwait(false))
        {
            return new SinkDescription($"{Kind} {tenant.Database}.{table.Name}", sink.MaxConcurrency, sink.PreferredChunkRows, sink.PreferredChunkBytes);
        }
    }

    /// <summary>
    /// Opens the tenant sink of every table with no rows and completes it, so each table is created (or checked) exactly
    /// as a load would create it. <paramref name="modeOf"/> picks the mode (a merge also checks a keyed table's key);
    /// <paramref name="showKey"/>: the lines name a keyed table's key.
    /// </summary>
    protected async Task<IReadOnlyList<string>> CreateTablesAsync(TenantConfig tenant, Func<TenantTable, StepMode> modeOf, bool showKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(modeOf);
        var created = new List<string>();
        foreach (var table in tenant.Tables.Values)
        {
            var schema = new TableTransform(table.Spec, DateOnly.FromDateTime(DateTime.Today), tenant.Id).OutputSchema;
            var mode = modeOf(table);
            var sink = CreateTenantSink(new TenantSinkContext(tenant, table, mode));
            await using (sink.ConfigureAwait(false))
            {
                await sink.OpenAsync(schema, cancellationToken).ConfigureAwait(false);
                await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            created.Add(showKey && table.Key.Count > 0 ? $"table {table.Name} (key {string.Join(", ", table.Key)})" : $"table {table.Name}");
        }

        return created;
    }

    public override string ToString() => Kind;

    private NotSupportedException NotATenantSink() => new($"{Kind} is a --to target only, not a tenant's sink");
}

/// <summary>What a sink can do, for the orchestrator to decide by instead of by kind.</summary>
public sealed record SinkCapabilities
{
    /// <summary>A tenant may name it in <c>sink.kind</c>; false for a <c>--to</c>-only sink.</summary>
    public bool Tenants { get; init; } = true;

    /// <summary>Step modes it loads; the others are refused when the load starts.</summary>
    public IReadOnlyList<StepMode> Modes { get; init; } = [StepMode.Append, StepMode.Merge, StepMode.Replace];

    /// <summary><c>on_changed: replace_partition</c>: a re-uploaded file's earlier rows are replaced in the load's transaction.</summary>
    public bool ReplacePartition { get; init; }

    /// <summary><c>rls:</c> becomes row-level security in <c>init-db</c>; when false, <see cref="NoRowLevelSecurity"/> says why.</summary>
    public bool RowLevelSecurity => NoRowLevelSecurity is null;

    /// <summary>The config error for a tenant with <c>rls:</c> on a sink without row-level security; null: it has it.</summary>
    public string? NoRowLevelSecurity { get; init; }

    /// <summary>A database server reached over the network with a staged-sink protocol (<see cref="Sql.SqlStagedSink"/>).</summary>
    public bool Server { get; init; }

    /// <summary>Keeps a <c>_etlstream_ledger</c> table beside the rows, which heals the load ledger (see <see cref="SinkProvider.ReadLedgerAsync"/>).</summary>
    public bool HealsFromTarget { get; init; }

    public ExactlyOnce ExactlyOnce { get; init; }
}

/// <summary>How a sink keeps a file from being loaded twice when a run dies between its commit and the load ledger's booking.</summary>
public enum ExactlyOnce
{
    /// <summary>Nothing: the load ledger alone (a <c>--to</c> file is written whole or not at all).</summary>
    None,

    /// <summary>The ledger row is written in the transaction that commits the rows.</summary>
    LedgerInTransaction,

    /// <summary>The ledger row is written right after the rows (no transactions): a crash between them loads the file again.</summary>
    LedgerAfterRows,

    /// <summary>Each chunk's label: the server refuses a second commit of it within its label window.</summary>
    Labels,

    /// <summary>A file's output is named from its identity: writing it again replaces it.</summary>
    IdempotentFiles,
}

/// <summary>One table load of a tenant, for <see cref="SinkProvider.CreateTenantSink"/>.</summary>
public sealed record TenantSinkContext(TenantConfig Tenant, TenantTable Table, StepMode Mode)
{
    /// <summary>The load ledger's stamp, for sinks that book files in the target's own ledger table.</summary>
    public LedgerStamp? Ledger { get; init; }

    /// <summary>Source files whose earlier rows the load deletes in its transaction (replace_partition, --reload).</summary>
    public IReadOnlyList<string> ReplaceSources { get; init; } = [];

    public ILogger? Logger { get; init; }
}

/// <summary>
/// How <c>explain</c> shows a table load's sink: its name, concurrency and chunking, and <paramref name="Settings"/>,
/// what the sink sets on its database that a user would want to know (DuckDB's memory limit).
/// </summary>
public sealed record SinkDescription(string Name, int MaxConcurrency, int ChunkRows, long ChunkBytes, string? Settings = null);

using EtlStream.Tenancy;

namespace EtlStream.Sinks.Sql;

/// <summary>
/// What the database-server sinks (PostgreSQL, MySQL/MariaDB, ClickHouse) share as providers: a
/// <c>&lt;scheme&gt;://user@host:port/&lt;database&gt;</c> target whose database must be the tenant's, the tenant's
/// <c>${NAME}</c> password, and an <c>init-db</c> that creates the database, then every table through the tenant's own
/// sink opened with no rows (a keyed table as a merge would check it), then row-level security.
/// </summary>
internal abstract class ServerSinkProvider : SinkProvider
{
    /// <summary>Whether opening a keyed table in merge mode checks its primary key (ClickHouse has none: the key is a sort order).</summary>
    protected virtual bool ChecksKey => true;

    /// <summary>The database a tenant's target names (PostgreSQL: the database whose schema holds the tables).</summary>
    public abstract string DatabaseOf(SinkConfig sink);

    /// <summary>Creates the tenant's database if missing; returns the line <c>init-db</c> prints for it.</summary>
    protected abstract Task<string> CreateDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken);

    /// <summary>The access table and row-level security of <paramref name="rls"/>; one line per thing created.</summary>
    protected abstract Task<IReadOnlyList<string>> CreateRowSecurityAsync(TenantConfig tenant, RlsConfig rls, CancellationToken cancellationToken);

    protected static SqlWriteMode WriteMode(StepMode mode) =>
        mode switch { StepMode.Replace => SqlWriteMode.Replace, StepMode.Merge => SqlWriteMode.Merge, _ => SqlWriteMode.Append };

    public override IReadOnlyList<(string Path, string Message)> Validate(SinkConfig sink, string? database)
    {
        ArgumentNullException.ThrowIfNull(sink);
        try
        {
            var targetDatabase = DatabaseOf(sink);
            return database is not null && !targetDatabase.Equals(database, StringComparison.Ordinal)
                ? [("sink.path", $"the target's database '{targetDatabase}' is not the tenant's database '{database}'")]
                : [];
        }
        catch (ArgumentException e)
        {
            return [("sink.path", e.Message)];
        }
    }

    public override async Task<IReadOnlyList<string>> InitDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var created = new List<string> { await CreateDatabaseAsync(tenant, cancellationToken).ConfigureAwait(false) };
        created.AddRange(await CreateTablesAsync(tenant, t => t.Key.Count > 0 && ChecksKey ? StepMode.Merge : StepMode.Append, showKey: true, cancellationToken).ConfigureAwait(false));
        if (tenant.Rls is { } rls)
        {
            created.AddRange(await CreateRowSecurityAsync(tenant, rls, cancellationToken).ConfigureAwait(false));
        }

        return created;
    }
}

/// <summary>
/// A server sink whose target parses into <typeparamref name="TOptions"/>: the shared target form
/// (<see cref="ServerTarget"/>) with the options of its kind, and the tenant's table and password made into options in
/// one place for its sinks, its ledger reads and <c>init-db</c>.
/// </summary>
internal abstract class ServerSinkProvider<TOptions> : ServerSinkProvider
    where TOptions : class
{
    /// <summary>The port a target without one connects to.</summary>
    protected abstract int DefaultPort { get; }

    /// <summary>Target options of this kind besides the shared ones (table, mode, concurrency, connect_timeout, timeout).</summary>
    protected virtual IReadOnlyList<string> TargetOptions => [];

    /// <summary>The schema of a target that names none (<c>public</c>); null for a kind whose tables are in the database itself.</summary>
    protected virtual string? DefaultSchema => null;

    /// <summary>The options of a target; <paramref name="password"/> null: from the environment.</summary>
    /// <exception cref="ArgumentException">The target is malformed; the message names it (password redacted) and why.</exception>
    private protected abstract TOptions Parse(string target, string defaultTable, string? password);

    private protected abstract string DatabaseOf(TOptions options);

    private protected abstract IBatchSink Create(TOptions options);

    /// <summary>A tenant's table: its sink target, for the table, with the tenant's password.</summary>
    public TOptions Options(TenantConfig tenant, TenantTable table)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        return Parse(tenant.Sink.Path, table.Name, tenant.Sink.Password ?? string.Empty);
    }

    public override string DatabaseOf(SinkConfig sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return DatabaseOf(Parse(sink.Path, "t", sink.Password ?? string.Empty));
    }

    public override TargetDescription DescribeTarget(string target, string defaultTable) =>
        ServerTarget.Parse(target, defaultTable, DefaultPort, TargetOptions).Describe(Kind, DefaultSchema);

    public override IBatchSink CreateFromTarget(string target, string defaultTable) => Create(Parse(target, defaultTable, null));
}

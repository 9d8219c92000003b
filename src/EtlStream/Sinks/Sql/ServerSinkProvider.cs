using EtlStream.Tenancy;

namespace EtlStream.Sinks.Sql;

/// <summary>
/// What the database-server sinks (PostgreSQL, MySQL/MariaDB, ClickHouse) share as providers: a
/// <c>&lt;scheme&gt;://user@host:port/&lt;database&gt;</c> target whose database must be the tenant's, the tenant's
/// <c>${NAME}</c> password, and an <c>init-db</c> that creates the database, then every table through the tenant's own
/// sink opened with no rows (a keyed table as a merge would check it), then row-level security.
/// </summary>
public abstract class ServerSinkProvider : SinkProvider
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

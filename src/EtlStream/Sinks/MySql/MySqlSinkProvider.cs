using EtlStream.Sinks.Sql;
using EtlStream.Tenancy;
using MySqlConnector;

namespace EtlStream.Sinks.MySql;

/// <summary><c>mysql://</c> (or <c>mariadb://</c>) targets and <c>kind: mysql</c> (or <c>mariadb</c>) tenants; rls is definer views.</summary>
internal sealed class MySqlSinkProvider : ServerSinkProvider<MySqlSinkOptions>
{
    public override string Kind => "mysql";

    public override IReadOnlyList<string> Aliases => ["mariadb"];

    public override IReadOnlyList<string> Schemes => ["mysql", "mariadb"];

    public override string TargetForm => "mysql://<user>@<host>[:port]/<db>?table=<name>";

    public override SinkCapabilities Capabilities { get; } = new() { Server = true, HealsFromTarget = true, ExactlyOnce = ExactlyOnce.LedgerInTransaction };

    protected override int DefaultPort => 3306;

    /// <param name="password">A tenant's <c>${NAME}</c> password; null: from MYSQL_PWD or ETLSTREAM_DB_PASSWORD.</param>
    internal static MySqlSinkOptions ParseTarget(string target, string defaultTable, string? password = null)
    {
        var a = ServerTarget.Parse(target, defaultTable, 3306, []);
        var options = new MySqlSinkOptions
        {
            ConnectionString = new MySqlConnectionStringBuilder
            {
                Server = a.Host, Port = (uint)a.Port, UserID = a.User, Database = a.Database,
                Password = ServerTarget.Password(password, "MYSQL_PWD") ?? string.Empty, AllowLoadLocalInfile = true,
                ConnectionTimeout = (uint)a.ConnectTimeout, DefaultCommandTimeout = (uint)a.Timeout,
            }.ConnectionString,
            Table = a.Table,
            Mode = a.Mode,
        };
        return a.Concurrency is { } n ? options with { MaxConcurrency = n } : options;
    }

    private protected override MySqlSinkOptions Parse(string target, string defaultTable, string? password) => ParseTarget(target, defaultTable, password);

    private protected override string DatabaseOf(MySqlSinkOptions options) => new MySqlConnectionStringBuilder(options.ConnectionString).Database;

    private protected override IBatchSink Create(MySqlSinkOptions options) => new MySqlSink(options);

    public override IBatchSink CreateTenantSink(TenantSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new MySqlSink(Options(context.Tenant, context.Table) with { Mode = WriteMode(context.Mode), Key = context.Table.Key, Ledger = context.Ledger });
    }

    public override Task<IReadOnlyList<LedgerRow>> ReadLedgerAsync(TenantConfig tenant, TenantTable table, string target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return MySqlSink.ReadLedgerAsync(Options(tenant, table).ConnectionString, tenant.Id, target, cancellationToken);
    }

    protected override async Task<string> CreateDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        await MySqlSecureViews.CreateDatabaseAsync(Options(tenant, tenant.Tables.Values.First()).ConnectionString, cancellationToken).ConfigureAwait(false);
        return $"database {DatabaseOf(tenant.Sink)}";
    }

    protected override async Task<IReadOnlyList<string>> CreateRowSecurityAsync(TenantConfig tenant, RlsConfig rls, CancellationToken cancellationToken)
    {
        var connectionString = Options(tenant, tenant.Tables.Values.First()).ConnectionString;
        await MySqlSecureViews.CreateAccessTableAsync(connectionString, rls.AccessTable, cancellationToken).ConfigureAwait(false);
        var created = new List<string> { $"table {rls.AccessTable}" };
        foreach (var view in rls.Views)
        {
            await MySqlSecureViews.CreateViewAsync(connectionString, rls.AccessTable, view.Table, view.View, view.Column, rls.Readers, cancellationToken).ConfigureAwait(false);
            created.Add($"view {view.View} ({view.Table} by {view.Column})");
        }

        return created;
    }
}

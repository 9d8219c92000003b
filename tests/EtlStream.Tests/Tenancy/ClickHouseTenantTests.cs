using EtlStream.Generation;
using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Servers;

namespace EtlStream.Tests.Tenancy;

/// <summary>
/// ClickHouse 18.16: merge is a DELETE mutation then an INSERT, the ledger rows follow the publish, and a tenant with
/// rls is refused (18.16 has no way to restrict rows per user).
/// </summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseTenantTests(ClickHouseServer server) : ServerTenantTests
{
    protected override string Kind => "clickhouse";

    protected override string SecretName => "ETLSTREAM_TEST_CLICKHOUSE_TENANT_PW";

    protected override string Password => ClickHouseServer.Password;

    protected override Task<string> NewDatabaseAsync() => server.CreateDatabaseAsync("tenant");

    protected override string Target(string database) => $"clickhouse://{ClickHouseServer.User}@127.0.0.1:{server.HttpPort}/{database}";

    protected override async Task<List<string>> QueryAsync(string database, string sql) =>
        [.. (await server.RowsAsync(sql, database)).Select(r => string.Join('|', r))];

    protected override string BoolAsInt(string column) => column;

    protected override string DateAsText(string column) => $"toString({column})";

    protected override bool LedgerInPublishTransaction => false;

    protected override async Task BreakLedgerAsync(string database)
    {
        await QueryAsync(database, "DROP TABLE _etlstream_ledger");
        await QueryAsync(database, "CREATE VIEW _etlstream_ledger AS SELECT 1 AS refused"); // a view takes no INSERT
    }

    protected override string Describe(string database, string table) => $"ClickHouse table `{database}`.`{table}`";

    [Fact]
    public async Task Init_db_creates_the_database_and_tables_ordered_by_their_keys()
    {
        var database = UnusedDatabaseName("init");
        var tenant = TenantConfigReader.Read(Configs(database), "acme");

        var created = await TenantDatabase.InitializeAsync(tenant, default);

        Assert.Equal(
            [$"database {database}", "table dealers (key dealer_code)", "table products (key product_code)", "table territories (key territory)", "table fact_invoice_secondary"],
            created);
        Assert.Equal(["dealers|dealer_code", "fact_invoice_secondary|", "products|product_code", "territories|territory"],
            await QueryAsync(database, $"SELECT name, sorting_key FROM system.tables WHERE database = '{database}' ORDER BY name"));
        Assert.Equal(
            ["dealer_code|String", "dealer_name|Nullable(String)", "territory|Nullable(String)", "region|Nullable(String)", "active|Nullable(UInt8)",
             "onboarded_on|Nullable(Date)", "tenant_id|Nullable(String)", "load_date|Nullable(Date)"],
            await QueryAsync(database, $"SELECT name, type FROM system.columns WHERE database = '{database}' AND table = 'dealers'"));
        Assert.Equal(created, await TenantDatabase.InitializeAsync(tenant, default));
    }

    [Fact]
    public void A_clickhouse_tenant_with_row_level_security_is_refused_naming_why()
    {
        var root = Configs("datawiz_acme", """
            rls:
              views:
                - { table: fact_invoice_secondary, view: secure_fact_invoice_secondary, column: territory }
            """);
        var failure = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(root, "acme"));
        Assert.Equal(
            [$"{Path.Combine(root, "tenants", "acme", "tenant.yaml")}: rls: ClickHouse 18.16 has no row-level security (no row policies, no currentUser(), and a view does not lift database access): remove rls from a clickhouse tenant"],
            failure.Errors);
    }
}

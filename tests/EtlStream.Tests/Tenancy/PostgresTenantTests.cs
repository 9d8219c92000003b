using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Sinks.Postgres;
using EtlStream.State;
using EtlStream.Tenancy;
using EtlStream.Tests.Servers;

namespace EtlStream.Tests.Tenancy;

[Collection(PostgresCollection.Name)]
public sealed class PostgresTenantTests(PostgresServer server) : ServerTenantTests
{
    protected override string Kind => "postgres";

    protected override string SecretName => "ETLSTREAM_TEST_PG_TENANT_PW";

    protected override string Password => PostgresServer.Password;

    protected override Task<string> NewDatabaseAsync() => server.CreateDatabaseAsync("tenant");

    protected override string Target(string database) => $"postgres://{PostgresServer.User}@127.0.0.1:{server.Port}/{database}";

    protected override async Task<List<string>> QueryAsync(string database, string sql) =>
        [.. (await server.RowsAsync(sql, database)).Select(r => string.Join('|', r.Select(Text)))];

    protected override string BoolAsInt(string column) => $"{column}::int";

    protected override string DateAsText(string column) => $"to_char({column}, 'YYYY-MM-DD')";

    protected override Task BreakLedgerAsync(string database) => server.ExecuteAsync(
        "ALTER TABLE _etlstream_ledger ADD COLUMN must_fill int NOT NULL DEFAULT 0; ALTER TABLE _etlstream_ledger ALTER COLUMN must_fill DROP DEFAULT", database);

    protected override string Describe(string database, string table) => $"PostgreSQL table \"public\".\"{table}\"";

    [Fact]
    public async Task Init_db_creates_the_database_keyed_tables_and_policies_and_two_roles_see_only_their_rows()
    {
        var database = UnusedDatabaseName("init");
        var suffix = Guid.NewGuid().ToString("N")[..8];
        string alice = "alice_" + suffix, bob = "bob_" + suffix;
        await server.ExecuteAsync($"CREATE ROLE {alice} LOGIN PASSWORD 'alice-pw'; CREATE ROLE {bob} LOGIN PASSWORD 'bob-pw'");
        var tenant = TenantConfigReader.Read(Configs(database, $$"""
            rls:
              access_table: user_access
              readers: [{{alice}}, {{bob}}]
              views:
                - { table: fact_invoice_secondary, view: secure_fact_invoice_secondary, column: territory }
                - { table: dealers, view: secure_dealers, column: territory }
            """), "acme");

        var created = await TenantDatabase.InitializeAsync(tenant, default);

        Assert.Equal(
            [$"database {database} (schema public)", "table dealers (key dealer_code)", "table products (key product_code)", "table territories (key territory)",
             "table fact_invoice_secondary", "table user_access", "row-level security on fact_invoice_secondary (by territory)", "row-level security on dealers (by territory)"],
            created);
        Assert.Equal(
            ["dealer_code|character varying(16)|1", "dealer_name|text|0", "territory|text|0", "region|text|0", "active|boolean|0", "onboarded_on|date|0", "tenant_id|character varying(64)|0", "load_date|date|0"],
            await QueryAsync(database, "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a WHERE a.attrelid = 'dealers'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"));
        Assert.Equal(
            ["dealers|dealer_code", "products|product_code", "territories|territory"],
            await QueryAsync(database, "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indisprimary AND c.relnamespace = 'public'::regnamespace ORDER BY 1"));
        Assert.Equal(["dealers|1", "fact_invoice_secondary|1", "user_access|1"],
            await QueryAsync(database, "SELECT tablename, count(*) FROM pg_policies GROUP BY tablename ORDER BY 1"));
        Assert.Equal(created, await TenantDatabase.InitializeAsync(tenant, default)); // a second init-db changes nothing and fails on nothing

        await using var ledger = await LoadLedger.OpenAsync(Dir.File("state/ledger.db"), default);
        await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 9, invoiceRows: 2_000, default);
        await RunAsync(tenant, "morning", Day1, ledger);
        var territories = await QueryAsync(database, "SELECT territory, count(*) FROM fact_invoice_secondary GROUP BY territory ORDER BY count(*) DESC, territory LIMIT 3");
        var (t1, n1) = (territories[0].Split('|')[0], long.Parse(territories[0].Split('|')[1]));
        var (t2, n2) = (territories[1].Split('|')[0], long.Parse(territories[1].Split('|')[1]));
        var (t3, n3) = (territories[2].Split('|')[0], long.Parse(territories[2].Split('|')[1]));
        await server.ExecuteAsync($"INSERT INTO user_access VALUES ('{alice}', 'territory', '{t1}'), ('{bob}', 'territory', '{t2}'), ('{bob}', 'territory', '{t3}')", database);

        async Task<long> VisibleAsync(string user, string sql) => Convert.ToInt64((await server.RowsAsync(sql, database, user, user[..user.IndexOf('_')] + "-pw"))[0][0]);
        Assert.Equal(n1, await VisibleAsync(alice, "SELECT count(*) FROM fact_invoice_secondary"));
        Assert.Equal(0, await VisibleAsync(alice, $"SELECT count(*) FROM fact_invoice_secondary WHERE territory <> '{t1}'"));
        Assert.Equal(n2 + n3, await VisibleAsync(bob, "SELECT count(*) FROM fact_invoice_secondary"));
        Assert.Equal(1, await VisibleAsync(alice, "SELECT count(*) FROM user_access"));

        // The evening refresh (truncate and refill of a matching table) and the next merge keep the policies.
        await RunAsync(tenant, "evening", Day1, ledger);
        Assert.Equal(
            await CountAsync(database, $"SELECT count(*) FROM dealers WHERE territory = '{t1}'"),
            await VisibleAsync(alice, "SELECT count(*) FROM dealers"));
        Assert.Equal(["dealers|1", "fact_invoice_secondary|1", "user_access|1"],
            await QueryAsync(database, "SELECT tablename, count(*) FROM pg_policies GROUP BY tablename ORDER BY 1"));
    }

    [Fact]
    public async Task A_merge_into_a_table_without_the_key_fails_before_loading_anything()
    {
        var database = await NewDatabaseAsync();
        var tenant = TenantConfigReader.Read(Configs(database), "acme");
        await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 5, invoiceRows: 300, default);
        var dealers = tenant.Tables["dealers"];
        var plain = new PostgresSink(new PostgresSinkProvider().Options(tenant, dealers)); // a plain load: no key
        await using (plain)
        {
            await new LoadPipeline(new LoadOptions { TenantId = "acme", LoadDate = Day1 })
                .RunAsync(EtlStream.Sources.Local.LocalFileSource.List(Path.Combine(Incoming, "dealers_2026-11-23.csv.gz")), dealers.Spec, plain, default);
        }

        await using var ledger = await LoadLedger.OpenAsync(Dir.File("state/ledger.db"), default);
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => RunAsync(tenant, "morning", Day1, ledger));
        Assert.Equal(
            "PostgreSQL table \"public\".\"dealers\": merge matches rows by the primary key (dealer_code), and it has none: create the table with init-db, or add the key (ALTER TABLE \"public\".\"dealers\" ADD PRIMARY KEY (\"dealer_code\")).",
            failure.Message);
        Assert.Equal(TenantDataGenerator.DealerCount, await CountAsync(database, "SELECT count(*) FROM dealers"));
    }
}

using EtlStream.Generation;
using EtlStream.State;
using EtlStream.Tenancy;
using EtlStream.Tests.Servers;
using MySqlConnector;

namespace EtlStream.Tests.Tenancy;

/// <summary>The tenant names its sink <c>mariadb</c>, the alias of <c>mysql</c>: the ledger and messages say mysql/MySQL.</summary>
[Collection(MariaDbCollection.Name)]
public sealed class MariaDbTenantTests(MariaDbServer server) : ServerTenantTests
{
    protected override string Kind => "mariadb";

    protected override string LedgerKind => "mysql";

    protected override string LedgerRowsColumn => "`rows`";

    protected override string SecretName => "ETLSTREAM_TEST_MARIADB_TENANT_PW";

    protected override string Password => MariaDbServer.Password;

    protected override Task<string> NewDatabaseAsync() => server.CreateDatabaseAsync("tenant");

    protected override string Target(string database) => $"mysql://{MariaDbServer.User}@127.0.0.1:{server.Port}/{database}";

    protected override async Task<List<string>> QueryAsync(string database, string sql) =>
        [.. (await server.RowsAsync(sql, database)).Select(r => string.Join('|', r.Select(Text)))];

    protected override string BoolAsInt(string column) => $"({column} + 0)";

    protected override string DateAsText(string column) => $"DATE_FORMAT({column}, '%Y-%m-%d')";

    protected override Task BreakLedgerAsync(string database) => server.ExecuteAsync(
        "ALTER TABLE _etlstream_ledger ADD COLUMN must_fill int NOT NULL DEFAULT 0; ALTER TABLE _etlstream_ledger ALTER COLUMN must_fill DROP DEFAULT", database);

    protected override string Describe(string database, string table) => $"MySQL table `{database}`.`{table}`";

    [Fact]
    public async Task Init_db_creates_the_database_keyed_tables_and_secure_views_and_two_users_see_only_their_rows()
    {
        var database = UnusedDatabaseName("init");
        var suffix = Guid.NewGuid().ToString("N")[..8];
        string alice = "alice_" + suffix, bob = "bob_" + suffix;
        await server.ExecuteAsync($"CREATE USER '{alice}'@'%' IDENTIFIED BY 'alice-pw'; CREATE USER '{bob}'@'%' IDENTIFIED BY 'bob-pw'");
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
            [$"database {database}", "table dealers (key dealer_code)", "table products (key product_code)", "table territories (key territory)",
             "table fact_invoice_secondary", "table user_access", "view secure_fact_invoice_secondary (fact_invoice_secondary by territory)", "view secure_dealers (dealers by territory)"],
            created);
        Assert.Equal(
            ["dealer_code|varchar(16)|NO|PRI", "dealer_name|longtext|YES|", "territory|longtext|YES|", "region|longtext|YES|", "active|tinyint(1)|YES|",
             "onboarded_on|date|YES|", "tenant_id|varchar(64)|YES|", "load_date|date|YES|"],
            await QueryAsync(database, $"SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{database}' AND TABLE_NAME = 'dealers' ORDER BY ORDINAL_POSITION"));
        Assert.Equal(["products|product_code|", "territories|territory|768"],
            await QueryAsync(database, $"SELECT TABLE_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{database}' AND INDEX_NAME = 'PRIMARY' AND TABLE_NAME IN ('products', 'territories') ORDER BY 1"));
        Assert.Equal(created, await TenantDatabase.InitializeAsync(tenant, default));

        await using var ledger = await LoadLedger.OpenAsync(Dir.File("state/ledger.db"), default);
        await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 9, invoiceRows: 2_000, default);
        await RunAsync(tenant, "morning", Day1, ledger);
        var territories = await QueryAsync(database, "SELECT territory, count(*) FROM fact_invoice_secondary GROUP BY territory ORDER BY count(*) DESC, territory LIMIT 3");
        var (t1, n1) = (territories[0].Split('|')[0], long.Parse(territories[0].Split('|')[1]));
        var (t2, n2) = (territories[1].Split('|')[0], long.Parse(territories[1].Split('|')[1]));
        var (t3, n3) = (territories[2].Split('|')[0], long.Parse(territories[2].Split('|')[1]));
        await server.ExecuteAsync($"INSERT INTO user_access VALUES ('{alice}', 'territory', '{t1}'), ('{bob}', 'territory', '{t2}'), ('{bob}', 'territory', '{t3}')", database);

        async Task<long> VisibleAsync(string user, string sql) => Convert.ToInt64((await server.RowsAsync(sql, database, user, user[..user.IndexOf('_')] + "-pw"))[0][0]);
        Assert.Equal(n1, await VisibleAsync(alice, "SELECT count(*) FROM secure_fact_invoice_secondary"));
        Assert.Equal(0, await VisibleAsync(alice, $"SELECT count(*) FROM secure_fact_invoice_secondary WHERE territory <> '{t1}'"));
        Assert.Equal(n2 + n3, await VisibleAsync(bob, "SELECT count(*) FROM secure_fact_invoice_secondary"));
        var denied = await Assert.ThrowsAsync<MySqlException>(() => VisibleAsync(alice, "SELECT count(*) FROM fact_invoice_secondary"));
        Assert.Contains("SELECT command denied to user", denied.Message, StringComparison.Ordinal);

        // The evening refresh swaps dealers by RENAME: the view follows the name, the key comes with the new table.
        await RunAsync(tenant, "evening", Day1, ledger);
        Assert.Equal(
            await CountAsync(database, $"SELECT count(*) FROM dealers WHERE territory = '{t1}'"),
            await VisibleAsync(alice, "SELECT count(*) FROM secure_dealers"));
        Assert.Equal(["dealer_code"],
            await QueryAsync(database, $"SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{database}' AND TABLE_NAME = 'dealers' AND INDEX_NAME = 'PRIMARY'"));
    }

    [Fact]
    public async Task The_cli_initializes_runs_and_explains_a_mariadb_tenant_without_printing_its_password()
    {
        var database = UnusedDatabaseName("cli");
        var configs = Configs(database);
        await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 3, invoiceRows: 1_000, default);
        string[] state = ["--config", configs, "--tenant", "acme", "--state", Dir.File("state/ledger.db"), "--logs", Dir.File("logs"), "--no-progress"];

        var init = await Cli.CliTests.RunAsync(Dir.Path, "init-db", "--config", configs, "--tenant", "acme");
        var run = await Cli.CliTests.RunAsync(Dir.Path, ["run", .. state, "--job", "morning", "--date", "2026-11-23"]);
        var explain = await Cli.CliTests.RunAsync(Dir.Path, "explain", "--config", configs, "--tenant", "acme", "--job", "morning");

        Assert.True(init.ExitCode == 0, init.Err);
        Assert.StartsWith($"acme: database {database} ready (mysql://{MariaDbServer.User}@127.0.0.1:{server.Port}/{database}): database {database}, table dealers (key dealer_code)", init.Out, StringComparison.Ordinal);
        Assert.True(run.ExitCode == 0, run.Err);
        Assert.True(explain.ExitCode == 0, explain.Err);
        Assert.Contains($"into mysql database {database}", explain.Out, StringComparison.Ordinal);
        foreach (var output in new[] { init.Out, init.Err, run.Out, run.Err, explain.Out, explain.Err, string.Concat(Directory.GetFiles(Dir.File("logs"), "*", SearchOption.AllDirectories).Select(File.ReadAllText)) })
        {
            Assert.DoesNotContain(MariaDbServer.Password, output, StringComparison.Ordinal);
        }

        Assert.Equal(ExpectedInvoices(Day1), await InvoicesAsync(database));
        Assert.Equal(ExpectedDealers(Day1, Day1), await DealersAsync(database));
    }

    [Fact]
    public async Task A_merge_into_a_table_without_the_key_fails_before_loading_anything()
    {
        var database = await NewDatabaseAsync();
        var tenant = TenantConfigReader.Read(Configs(database), "acme");
        await TenantDataGenerator.WriteDayAsync(Incoming, Day1, seed: 5, invoiceRows: 300, default);
        await server.ExecuteAsync(
            "CREATE TABLE dealers (dealer_code varchar(16) NOT NULL, dealer_name longtext, territory longtext, region longtext, active tinyint(1), onboarded_on date, tenant_id varchar(64), load_date date)",
            database);

        await using var ledger = await LoadLedger.OpenAsync(Dir.File("state/ledger.db"), default);
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => RunAsync(tenant, "morning", Day1, ledger));
        Assert.Equal(
            $"MySQL table `{database}`.`dealers`: merge matches rows by the primary key (dealer_code), and it has none: create the table with init-db, or add the key (ALTER TABLE `{database}`.`dealers` ADD PRIMARY KEY (`dealer_code`)).",
            failure.Message);
        Assert.Equal(0, await CountAsync(database, "SELECT count(*) FROM dealers"));
    }
}

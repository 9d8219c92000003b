using System.Globalization;
using EtlStream.Generation;
using EtlStream.Sinks.StarRocks;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;
using EtlStream.Transforms;
using Microsoft.Extensions.Logging.Abstractions;
using MySqlConnector;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// An in-cluster backfill's world: a tenant's invoice files (several days, gzip) in an Azurite container, a MariaDB
/// database behind the FE MySQL-port stand-in (<see cref="FeMySqlProxy"/>), and a tenant config (tenant <c>acme</c>,
/// sink <c>starrocks</c>, source <c>azure</c> with its key as a <c>${NAME}</c> secret) in a temp folder.
/// </summary>
internal sealed class InClusterTestBed : IAsyncDisposable
{
    public const string KeySecret = "ETLSTREAM_TEST_INCLUSTER_AZURE_KEY";
    public const string PasswordSecret = "ETLSTREAM_TEST_INCLUSTER_PW";
    public const string Table = "fact_invoice_secondary";
    public static readonly DateOnly FirstDay = new(2026, 11, 1);

    private InClusterTestBed(MariaDbServer mariaDb, AzuriteServer azurite, string database, string container, FeMySqlProxy proxy)
    {
        MariaDb = mariaDb;
        Azurite = azurite;
        Database = database;
        Container = container;
        Proxy = proxy;
    }

    public MariaDbServer MariaDb { get; }

    public AzuriteServer Azurite { get; }

    public string Database { get; }

    public string Container { get; }

    public FeMySqlProxy Proxy { get; }

    public TempDirectory Dir { get; } = new();

    public string Ledger => Dir.File("state/ledger.db");

    public static async Task<InClusterTestBed> StartAsync(MariaDbServer mariaDb, AzuriteServer azurite, int days = 4, int rows = 400)
    {
        var database = await NewDatabaseAsync(mariaDb, "ic");
        var container = await azurite.CreateContainerAsync("ic");
        for (var d = 0; d < days; d++)
        {
            using var tmp = new TempDirectory();
            var name = $"invoices_{FirstDay.AddDays(d):yyyy-MM-dd}.csv.gz";
            await InvoiceGenerator.WriteFileAsync(tmp.File(name), rows + (d * 37), seed: 100 + d, default);
            await container.GetBlobClient($"drops/{name}").UploadAsync(tmp.File(name));
        }

        Environment.SetEnvironmentVariable(KeySecret, AzuriteServer.AccountKey);
        Environment.SetEnvironmentVariable(PasswordSecret, MariaDbServer.Password);
        var proxy = new FeMySqlProxy(mariaDb.Port, mariaDb.ConnectionString(),
            account => account == AzuriteServer.AccountName ? new Uri(azurite.AccountUrl) : null).Start();
        var bed = new InClusterTestBed(mariaDb, azurite, database, container.Name, proxy);
        await bed.CreateTableAsync(database);
        return bed;
    }

    /// <summary>
    /// Adds a day's file whose columns are in reverse order, whose header is in capitals and whose lines end in CR LF
    /// (as files written on Windows do): columns bind by name and the row delimiter follows the file, so it must load the
    /// same as any other. Empty fields stay unquoted (NULL), others are quoted only when they must be.
    /// </summary>
    public async Task UploadReorderedAsync(DateOnly date, int rows, int seed)
    {
        using var tmp = new TempDirectory();
        await InvoiceGenerator.WriteFileAsync(tmp.File("plain.csv"), rows, seed, default);
        var records = FeMySqlProxy.ParseCsv(await File.ReadAllBytesAsync(tmp.File("plain.csv")),
            new Dictionary<string, string> { ["csv.column_separator"] = ",", ["csv.enclose"] = "\"" });
        var text = new System.Text.StringBuilder();
        for (var r = 0; r < records.Count; r++)
        {
            var fields = records[r].Reverse().Select(f => f ?? "").Select(f => r == 0 ? f.ToUpperInvariant() : f);
            text.AppendJoin(',', fields.Select(f => f.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + f.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : f)).Append("\r\n");
        }

        var name = $"invoices_{date:yyyy-MM-dd}.csv.gz";
        await using (var gz = new System.IO.Compression.GZipStream(File.Create(tmp.File(name)), System.IO.Compression.CompressionLevel.Fastest))
        {
            await gz.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text.ToString()));
        }

        await Azurite.Client().GetBlobContainerClient(Container).GetBlobClient($"drops/{name}").UploadAsync(tmp.File(name));
    }

    /// <summary>A fresh MariaDB database, UTF-8 and byte-compared like StarRocks strings.</summary>
    public static async Task<string> NewDatabaseAsync(MariaDbServer mariaDb, string prefix)
    {
        var database = await mariaDb.CreateDatabaseAsync(prefix);
        await mariaDb.ExecuteAsync($"ALTER DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
        return database;
    }

    /// <summary>The tenant's table in <paramref name="database"/>, from the MySQL-compatible DDL the StarRocks code generates.</summary>
    public async Task CreateTableAsync(string database, string? schemaFile = null)
    {
        var spec = TableSpecReader.ReadFile(schemaFile ?? Path.Combine(RepoPaths.Root, "configs", "schemas", Table + ".yaml"));
        var output = new TableTransform(spec, FirstDay, "acme").OutputSchema;
        await MariaDb.ExecuteAsync(StarRocksSql.CreateTable(SqlDialect.MySql, database, Table, output, []), database);
    }

    /// <summary>
    /// A configs folder for tenant acme loading <paramref name="database"/> at <paramref name="fePort"/> (MySQL port
    /// <paramref name="mysqlPort"/>), with the source's credentials as <paramref name="credentials"/> YAML lines.
    /// </summary>
    public string Configs(string name, string database, int fePort, int mysqlPort, string? credentials = null, string sinkKind = "starrocks", string schema = Table, string? extraSchema = null, string sinkOptions = "")
    {
        var root = Dir.File(name);
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs", "schemas")))
        {
            File.Copy(f, Path.Combine(root, "schemas", Path.GetFileName(f)), overwrite: true);
        }

        if (extraSchema is not null)
        {
            File.WriteAllText(Path.Combine(root, "schemas", schema + ".yaml"), extraSchema);
        }

        credentials ??= $"account_key: \"${{{KeySecret}}}\"";
        var scheme = sinkKind == "doris" ? "doris" : "starrocks";
        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        File.WriteAllText(Path.Combine(root, "tenants", "acme", "tenant.yaml"), $$"""
            tenant: acme
            database: {{database}}
            source:
              kind: azure
              container: {{Container}}
              path: drops
              account_url: {{Azurite.AccountUrl}}
              {{credentials}}
            sink:
              kind: {{sinkKind}}
              path: "{{scheme}}://{{MariaDbServer.User}}@127.0.0.1:{{fePort}}/{{database}}?mysql_port={{mysqlPort}}{{sinkOptions}}&state_dir={{Dir.Path}}/srstate"
              password: "${{{PasswordSecret}}}"
            tables:
              fact_invoice_secondary: { schema: {{schema}}, files: "invoices_{date}.csv.gz" }
            jobs:
              morning:
                steps:
                  - { name: facts, tables: [fact_invoice_secondary], mode: append }
            """);
        return root;
    }

    /// <summary>The in-cluster configs: the proxy is the FE's MySQL port (Stream Load's HTTP port is never used).</summary>
    public string InClusterConfigs(string? credentials = null, string schema = Table, string? extraSchema = null, string sinkOptions = "") =>
        Configs("ic-configs", Database, 1, Proxy.Port, credentials, schema: schema, extraSchema: extraSchema, sinkOptions: sinkOptions);

    public async Task<InClusterPlan> PlanAsync(string root, DateOnly to, Shard? shard = null, string? ledgerPath = null, int parallel = 2)
    {
        var tenant = TenantConfigReader.Read(root, "acme");
        var backfill = await BackfillPlan.BuildAsync(tenant, Table, FirstDay, to, shard ?? Shard.All, default, InClusterPlan.HeaderReads);
        await using var ledger = await LoadLedger.OpenAsync(ledgerPath ?? Ledger, default);
        var committed = await ledger.CommittedAsync("acme", TenantJobRunner.TargetOf(tenant, backfill.Table), default);
        return await InClusterPlan.BuildAsync(StarRocksSinkProvider.InCluster(backfill), committed, new InClusterLoadOptions { ParallelFiles = parallel }, default);
    }

    public async Task<InClusterLoadResult> RunAsync(InClusterPlan plan, string? ledgerPath = null, int parallel = 2)
    {
        await using var ledger = await LoadLedger.OpenAsync(ledgerPath ?? Ledger, default);
        var run = await ledger.StartRunAsync("acme", "backfill", plan.Backfill.To, default);
        var options = new InClusterLoadOptions { ParallelFiles = parallel, PollInterval = TimeSpan.FromMilliseconds(20), PollLimit = TimeSpan.FromSeconds(20) };
        return await InClusterLoad.RunAsync(plan, ledger, run, options, NullLogger.Instance, default);
    }

    public async Task<long> CountAsync(string? database = null) =>
        Convert.ToInt64(await MariaDb.ScalarAsync($"SELECT COUNT(*) FROM `{Table}`", database ?? Database), CultureInfo.InvariantCulture);

    public async Task<List<object?[]>> RowsAsync(string sql, string? database = null)
    {
        await using var c = new MySqlConnection(MariaDb.ConnectionString(database ?? Database));
        return await DbRows.ReadAsync(c, sql);
    }

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        Dir.Dispose();
    }
}

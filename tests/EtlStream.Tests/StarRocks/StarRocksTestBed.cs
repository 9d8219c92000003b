using System.Collections.Concurrent;
using System.Globalization;
using Apache.Arrow;
using EtlStream.Pipeline;
using EtlStream.Sinks.StarRocks;
using EtlStream.Sources;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;
using EtlStream.Transforms;
using MySqlConnector;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// One test's StarRocks stand-in: a fresh MariaDB database, the Stream Load protocol server committing into it, a
/// temp folder for files and the sink's open-transaction record, and sink options pointing at all of it with short
/// timeouts (so slow-reply faults cost seconds, not minutes).
/// </summary>
internal sealed class StarRocksTestBed : IAsyncDisposable
{
    private StarRocksTestBed(MariaDbServer mariaDb, string database, StreamLoadServer server)
    {
        MariaDb = mariaDb;
        Database = database;
        Server = server;
    }

    public MariaDbServer MariaDb { get; }

    public string Database { get; }

    public StreamLoadServer Server { get; }

    public TempDirectory Dir { get; } = new();

    public ConcurrentQueue<RejectedRow> Rejected { get; } = new();

    public static async Task<StarRocksTestBed> StartAsync(MariaDbServer mariaDb, bool discard = false, int maxVersions = 1000, TimeSpan? versionWindow = null, int maxRunning = 1000)
    {
        var database = await mariaDb.CreateDatabaseAsync("sr");

        // StarRocks strings are UTF-8; this MariaDB's default is latin1.
        await mariaDb.ExecuteAsync($"ALTER DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
        var server = new StreamLoadServer(mariaDb.ConnectionString(), MariaDbServer.User, MariaDbServer.Password) {
            DiscardBodies = discard,
            MaxVersions = maxVersions,
            VersionWindow = versionWindow ?? TimeSpan.FromSeconds(10),
            MaxRunningTransactions = maxRunning,
        }.Start();
        return new StarRocksTestBed(mariaDb, database, server);
    }

    public StarRocksSinkOptions Options(string table, StreamLoadMode mode = StreamLoadMode.Label) => new()
    {
        Host = "127.0.0.1",
        HttpPort = Server.FePort,
        MySqlPort = MariaDb.Port,
        Database = Database,
        Table = table,
        User = MariaDbServer.User,
        Password = MariaDbServer.Password,
        Mode = mode,
        Tenant = "acme",
        MaxConcurrency = 2,
        RequestTimeout = TimeSpan.FromSeconds(1.5),
        Expect100ContinueTimeout = TimeSpan.FromSeconds(10),
        BackoffBase = TimeSpan.FromMilliseconds(10),
        BackoffCap = TimeSpan.FromMilliseconds(100),
        PollInterval = TimeSpan.FromMilliseconds(20),
        PollLimit = TimeSpan.FromSeconds(20),
        StateDirectory = Path.Combine(Dir.Path, "state"),
        OnRejected = (rows, _) =>
        {
            foreach (var r in rows)
            {
                Rejected.Enqueue(r);
            }

            return ValueTask.CompletedTask;
        },
    };

    /// <summary>Creates <paramref name="spec"/>'s table in MariaDB from the MySQL-compatible DDL the sink generates.</summary>
    public async Task CreateTableAsync(TableSpec spec, string? table = null)
    {
        var schema = new TableTransform(spec, new DateOnly(2026, 11, 24), "acme").OutputSchema;
        await MariaDb.ExecuteAsync(StarRocksSql.CreateTable(SqlDialect.MySql, Database, table ?? spec.Name, schema, spec.Key), Database);
    }

    public async Task<LoadResult> LoadAsync(TableSpec spec, StarRocksSinkOptions options, string? folder = null, int parallelFiles = 1, CancellationToken cancellationToken = default)
    {
        var sink = new StarRocksSink(options);
        await using (sink)
        {
            var result = await new LoadPipeline(new LoadOptions { LoadDate = new DateOnly(2026, 11, 24), TenantId = "acme", ParallelFiles = parallelFiles })
                .RunAsync(LocalFileSource.List(folder ?? Dir.Path).Where(f => f.Name.EndsWith(".csv", StringComparison.Ordinal)).ToList(), spec, sink, cancellationToken);
            LastStats = sink.Stats;
            return result;
        }
    }

    public StarRocksSinkStats? LastStats { get; private set; }

    public async Task<long> CountAsync(string table) =>
        Convert.ToInt64(await MariaDb.ScalarAsync($"SELECT COUNT(*) FROM `{table}`", Database), CultureInfo.InvariantCulture);

    public async Task<List<object?[]>> RowsAsync(string sql)
    {
        await using var c = new MySqlConnection(MariaDb.ConnectionString(Database));
        return await Support.DbRows.ReadAsync(c, sql);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Dir.Dispose();
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using Apache.Arrow;
using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sinks.StarRocks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Servers;
using EtlStream.Tests.StarRocks;
using EtlStream.Transforms;
using MySqlConnector;

// The StarRocks load path on the standard job (perf/jobs/invoices.yaml), measured against the Stream Load protocol
// test server in this process: first with the server discarding bodies (the client path: encode, HTTP, 307,
// 100-continue), then committing into MariaDB (the test server's LOAD DATA is then the bottleneck). Baseline in the
// same run: the same pipeline into a sink that drops the chunks. Medians of several runs; 2 shared cores.
var rows = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var output = args.Length > 2 ? args[2] : null;
var root = FindRoot();
var work = ServerProcess.NewFolder("streamload-bench");
var input = Path.Combine(work, "input");
Directory.CreateDirectory(input);
var file = Path.Combine(input, "invoices_2026-11-24.csv");
await InvoiceGenerator.WriteFileAsync(file, rows, seed: 42, default);
var inputBytes = new FileInfo(file).Length;
var spec = TableSpecReader.ReadFile(Path.Combine(root, "perf", "jobs", "invoices.yaml"));
var schema = new TableTransform(spec, new DateOnly(2026, 11, 24), "acme").OutputSchema;
Console.WriteLine($"input: {rows:N0} rows, {inputBytes / 1e6:F0} MB CSV; {runs} runs per contender");

await using var mariaDb = await MariaDb.StartAsync();
const string user = "etl", password = "etl-bench-pw";

var results = new List<(string Name, double Seconds, StarRocksSinkStats? Stats)>();
for (var run = -1; run < runs; run++)
{
    if (run == 0)
    {
        results.Clear(); // run -1 was the warm-up (JIT, pools, page cache)
    }

    results.Add(("pipeline → drop (baseline)", await TimeAsync(new DropSink()), null));

    await using (var discard = new StreamLoadServer(mariaDb.ConnectionString(null), user, password) { DiscardBodies = true }.Start())
    {
        var sink = new StarRocksSink(Options(discard.FePort, "bench_discard", "fact_invoice_secondary"));
        results.Add(("StarRocks sink → protocol server, bodies discarded", await TimeAsync(sink), sink.Stats));
        var labels = new StarRocksSink(Options(discard.FePort, "bench_discard", "fact_invoice_secondary") with { Mode = StreamLoadMode.Label, Tenant = $"r{run + 1}" });
        results.Add(("same, label mode (2 loads of one file in flight)", await TimeAsync(labels), labels.Stats));
    }

    var db = $"bench_{run + 1}_{Environment.TickCount64 % 100000}";
    await mariaDb.ExecuteAsync($"CREATE DATABASE `{db}` CHARACTER SET utf8mb4");
    await mariaDb.ExecuteAsync(StarRocksSql.CreateTable(SqlDialect.MySql, db, spec.Name, schema, spec.Key));
    await using (var commit = new StreamLoadServer(mariaDb.ConnectionString(null), user, password).Start())
    {
        var sink = new StarRocksSink(Options(commit.FePort, db, spec.Name));
        results.Add(("StarRocks sink → protocol server → MariaDB commit", await TimeAsync(sink), sink.Stats));
        var count = Convert.ToInt64(await mariaDb.ScalarAsync($"SELECT COUNT(*) FROM `{db}`.`{spec.Name}`"), CultureInfo.InvariantCulture);
        if (count != sink.Stats.RowsLoaded)
        {
            throw new InvalidOperationException($"MariaDB has {count} rows, the sink loaded {sink.Stats.RowsLoaded}");
        }
    }

    Console.WriteLine($"run {run + 1}: " + string.Join("; ", results.TakeLast(4).Select(r => $"{r.Seconds:F2} s")));
}

var baseline = Median(results.Where(r => r.Stats is null).Select(r => r.Seconds));
var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"# StarRocks Stream Load path, standard job, {rows:N0} rows");
report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores (shared, noisy), .NET {Environment.Version}. Input: {inputBytes / 1e6:F0} MB uncompressed CSV, one file.");
report.AppendLine(CultureInfo.InvariantCulture, $"Medians of {runs} runs, contenders alternating, in one process; the protocol server (and MariaDB) run on the same 2 cores.");
report.AppendLine("Sink defaults: transaction mode, 90 MB loads (Arrow bytes), 2 loads in flight. Not measured against a live StarRocks.");
report.AppendLine();
report.AppendLine("| contender | wall (median) | input MB/s | rows/s | loads | avg load (CSV body) | loads/min | wall vs baseline |");
report.AppendLine("|---|---|---|---|---|---|---|---|");
foreach (var group in results.GroupBy(r => r.Name))
{
    var seconds = Median(group.Select(r => r.Seconds));
    var stats = group.Last().Stats;
    var loads = stats is null ? "–" : stats.Loads.ToString(CultureInfo.InvariantCulture);
    var size = stats is null || stats.Loads == 0 ? "–" : $"{stats.BytesSent / (double)stats.Loads / 1e6:F1} MB";
    var perMinute = stats is null ? "–" : $"{stats.Loads / (seconds / 60):F0}";
    report.AppendLine(CultureInfo.InvariantCulture,
        $"| {group.Key} | {seconds:F2} s | {inputBytes / 1e6 / seconds:F0} | {rows / seconds / 1000:F0} k | {loads} | {size} | {perMinute} | {seconds / baseline:F2}× |");
}

report.AppendLine();
report.AppendLine("Produced by `dotnet run -c Release --project perf/EtlStream.StreamLoadBench -- <rows> <runs> <output.md>`.");
Console.WriteLine(report);
if (output is not null)
{
    await File.WriteAllTextAsync(output, report.ToString());
}

try
{
    Directory.Delete(work, recursive: true);
}
catch (IOException)
{
}

return;

StarRocksSinkOptions Options(int fePort, string db, string table) => new()
{
    Host = "127.0.0.1",
    HttpPort = fePort,
    MySqlPort = null, // the schema check is not the load path
    Database = db,
    Table = table,
    User = user,
    Password = password,
    Tenant = "acme",
    StateDirectory = Path.Combine(work, "state"),
};

async Task<double> TimeAsync(IBatchSink sink)
{
    var started = Stopwatch.GetTimestamp();
    await using (sink)
    {
        await new LoadPipeline(new LoadOptions { LoadDate = new DateOnly(2026, 11, 24), TenantId = "acme" })
            .RunAsync(LocalFileSource.List(input), spec, sink, default);
    }

    return Stopwatch.GetElapsedTime(started).TotalSeconds;
}

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "EtlStream.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("run from inside the repository");
}

/// <summary>Takes chunks of the same size as the StarRocks sink and drops them: the pipeline's own cost.</summary>
internal sealed class DropSink : IBatchSink
{
    public int MaxConcurrency => 2;

    public int PreferredChunkRows => 2_000_000;

    public long PreferredChunkBytes => 90L * 1024 * 1024;

    public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>A private MariaDB for the bench, as the test fixture starts it.</summary>
internal sealed class MariaDb : IAsyncDisposable
{
    private readonly ServerProcess _server;

    private MariaDb(ServerProcess server, int port)
    {
        _server = server;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString(string? db) => new MySqlConnectionStringBuilder
    {
        Server = "127.0.0.1", Port = (uint)Port, UserID = "etl", Password = "etl-bench-pw", Database = db ?? "",
        AllowLoadLocalInfile = true, SslMode = MySqlSslMode.None,
    }.ConnectionString;

    public static async Task<MariaDb> StartAsync()
    {
        var mariadbd = ServerProcess.Require("apt-get install mariadb-server", "/usr/sbin/mariadbd", "mariadbd");
        var installDb = ServerProcess.Require("apt-get install mariadb-server", "mariadb-install-db", "/usr/bin/mariadb-install-db");
        var folder = ServerProcess.NewFolder("mariadb-bench");
        var data = Path.Combine(folder, "data");
        var user = Environment.UserName;
        await ServerProcess.RunToEndAsync(installDb, ["--no-defaults", $"--datadir={data}", $"--user={user}", "--auth-root-authentication-method=normal", "--skip-test-db"]);
        var init = Path.Combine(folder, "init.sql");
        await File.WriteAllTextAsync(init, "CREATE USER IF NOT EXISTS 'etl'@'%' IDENTIFIED BY 'etl-bench-pw';\nGRANT ALL PRIVILEGES ON *.* TO 'etl'@'%';\nFLUSH PRIVILEGES;\n"); // one statement per line
        var port = ServerProcess.FreePort();
        MariaDb? self = null;
        var server = await ServerProcess.StartAsync("mariadb", mariadbd,
            [
                "--no-defaults", $"--datadir={data}", $"--user={user}", $"--port={port}", "--bind-address=127.0.0.1",
                $"--socket={Path.Combine(folder, "mariadb.sock")}", $"--pid-file={Path.Combine(folder, "mariadb.pid")}",
                $"--init-file={init}", "--skip-name-resolve", "--local-infile=1", "--innodb-buffer-pool-size=512M",
                "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", "--max-connections=200", "--innodb-log-file-size=512M",
            ],
            folder,
            async () =>
            {
                await using var c = new MySqlConnection(new MySqlConnectionStringBuilder { Server = "127.0.0.1", Port = (uint)port, UserID = "etl", Password = "etl-bench-pw", SslMode = MySqlSslMode.None }.ConnectionString);
                await c.OpenAsync();
                return true;
            });
        self = new MariaDb(server, port);
        return self;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var c = new MySqlConnection(ConnectionString(null));
        await c.OpenAsync();
        await using var cmd = new MySqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task<object?> ScalarAsync(string sql)
    {
        await using var c = new MySqlConnection(ConnectionString(null));
        await c.OpenAsync();
        await using var cmd = new MySqlCommand(sql, c);
        return await cmd.ExecuteScalarAsync();
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using DuckDB.NET.Data;
using EtlStream.Generation;

namespace EtlStream.Benchmarks;

/// <summary>
/// The end-to-end harness of the standard job (../shared/bench/STANDARD_JOB.md): generates the input if missing,
/// then runs EtlStream (Parquet path and Stream Load CSV body path), the GZipStream decompression floor and
/// DuckDB doing the same job, alternately, each in its own process, and writes medians, ratios and peak memory
/// to perf/results/. Every contender reports its own peak resident memory (VmHWM) on its last output line.
/// </summary>
internal static class StandardJobHarness
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private sealed record Contender(string Name, Func<string, string, string[]> Arguments, string? Output);

    private sealed record Run(double Seconds, long PeakBytes);

    public static async Task<int> RunAsync(string[] args)
    {
        var rows = Option(args, "--rows", 2_000_000L);
        var runs = (int)Option(args, "--runs", 3L);

        // --format jsonl: the JSON Lines form of the job (its spec, DuckDB's read_json with the explicit columns).
        var json = Array.IndexOf(args, "--format") is var f && f >= 0 && f + 1 < args.Length && args[f + 1] == "jsonl";
        var root = Kernels.RepoRoot.Find();
        var data = Path.Combine(root, "perf", "data", json ? $"invoices-{rows}.jsonl.gz" : $"invoices-{rows}.csv.gz");
        if (!File.Exists(data))
        {
            Console.WriteLine($"generating {data} (seed 42)…");
            await InvoiceGenerator.WriteFileAsync(data, rows, seed: 42, CancellationToken.None, jsonLines: json);
        }

        var uncompressed = await UncompressedBytesAsync(data);
        // Outputs go to memory where there is a tmpfs, so a slow disk does not decide the comparison.
        var work = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "etlstream-perf");
        Directory.CreateDirectory(work);
        var spec = Path.Combine(root, "perf", "jobs", json ? "invoices-jsonl.yaml" : "invoices.yaml");
        var self = typeof(StandardJobHarness).Assembly.Location;
        var cli = Path.Combine(AppContext.BaseDirectory, "EtlStream.Cli.dll");
        var etlParquet = Path.Combine(work, "etlstream.parquet");
        var duckParquet = Path.Combine(work, "duckdb.parquet");
        var csvBody = Path.Combine(work, "etlstream-body.csv");
        var contenders = new[]
        {
            new Contender("GZipStream floor (decompress only)", (f, _) => [self, "gzip-floor", f], null),
            new Contender(json ? "DuckDB read_json (2 threads) → Parquet zstd" : "DuckDB (2 threads) → Parquet zstd", (f, o) => [self, json ? "duckdb-json" : "duckdb", f, o], duckParquet),
            new Contender("EtlStream → Parquet zstd", (f, o) => [cli, "load", f, "--table", spec, "--to", $"parquet:{o}", "--report", o + ".json"], etlParquet),
            new Contender("EtlStream → CSV body (Stream Load path)", (f, o) => [cli, "load", f, "--table", spec, "--to", $"csv:{o}", "--report", o + ".json"], csvBody),
        };
        if (json)
        {
            contenders = contenders[..3]; // the JSON job is measured to Parquet
        }

        var results = contenders.ToDictionary(c => c.Name, _ => new List<Run>());
        for (var round = 0; round <= runs; round++)
        {
            foreach (var c in contenders)
            {
                var run = await RunContenderAsync(c, data);
                var label = round == 0 ? "warm-up" : $"run {round}";
                Console.WriteLine($"{label,-8} {c.Name,-42} {run.Seconds,7:F2} s  peak {run.PeakBytes / 1e6,6:F0} MB");
                if (round > 0)
                {
                    results[c.Name].Add(run);
                }
            }
        }

        var check = Verify(etlParquet, duckParquet);
        var table = Render(results, contenders, rows, uncompressed, new FileInfo(data).Length, runs, check, json);
        Console.WriteLine();
        Console.WriteLine(table);
        var resultsDir = Path.Combine(root, "perf", "results");
        Directory.CreateDirectory(resultsDir);
        var file = Path.Combine(resultsDir, json ? $"standard-job-jsonl-{rows}.md" : $"standard-job-{rows}.md");
        await File.WriteAllTextAsync(file, table);
        Console.WriteLine($"written to {Path.GetRelativePath(root, file)}");
        return check.Same ? 0 : 1;
    }

    /// <summary>Child process: GZipStream read to end, the floor for one gzip stream.</summary>
    public static async Task<int> GzipFloorAsync(string file)
    {
        await using var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        await using var gzip = new GZipStream(input, CompressionMode.Decompress);
        var buffer = new byte[1 << 20];
        while (await gzip.ReadAsync(buffer) > 0)
        {
        }

        PrintPeak();
        return 0;
    }

    /// <summary>Child process: DuckDB doing the standard job with 2 threads, as STANDARD_JOB.md describes.</summary>
    public static int DuckDb(string file, string output)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SET threads = 2; " + StandardJobSql(file, output);
        command.ExecuteNonQuery();
        PrintPeak();
        return 0;
    }

    /// <summary>Child process: DuckDB doing the JSON Lines job with 2 threads (read_json with the explicit column list).</summary>
    public static int DuckDbJson(string file, string output)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SET threads = 2; " + JsonJobSql(file, output);
        command.ExecuteNonQuery();
        PrintPeak();
        return 0;
    }

    /// <summary>The JSON Lines job in DuckDB SQL: read_json with every column's type given (no sampling), then the CSV job's SELECT.</summary>
    public static string JsonJobSql(string file, string output) => $$"""
        COPY (
          SELECT trim(dealer.code) || '|' || trim(invoice.no) AS invoice_key,
                 trim(invoice.no) AS invoice_no,
                 strptime(trim(invoice.date), '%d-%m-%Y')::DATE AS invoice_date,
                 trim(dealer.code) AS dealer_code, trim(dealer.name) AS dealer_name, trim(dealer.territory) AS territory,
                 trim(dealer.region) AS region, trim(product.code) AS product_code, trim(product.name) AS product_name,
                 trim(product.category) AS category, qty,
                 unit_price, discount_pct, net_amount, tax_amount, gross_amount, trim(currency) AS currency,
                 trim(salesman.code) AS salesman_code, active AS active_flag,
                 strptime(trim(invoice.created_at), '%Y-%m-%d %H:%M:%S') AS created_at, trim(invoice.remarks) AS remarks,
                 trim(invoice.batch_no) AS batch_no, invoice.is_return AS is_return
          FROM read_json('{{file}}', format = 'newline_delimited', columns = {
            invoice: 'STRUCT(no VARCHAR, date VARCHAR, created_at VARCHAR, remarks VARCHAR, batch_no VARCHAR, is_return BOOLEAN)',
            dealer: 'STRUCT(code VARCHAR, name VARCHAR, territory VARCHAR, region VARCHAR)',
            product: 'STRUCT(code VARCHAR, name VARCHAR, category VARCHAR)',
            qty: 'BIGINT', unit_price: 'DECIMAL(18,2)', discount_pct: 'DECIMAL(5,2)', net_amount: 'DECIMAL(18,2)',
            tax_amount: 'DECIMAL(18,2)', gross_amount: 'DECIMAL(18,2)', currency: 'VARCHAR',
            salesman: 'STRUCT(code VARCHAR)', active: 'BOOLEAN'})
          WHERE qty <> 0
        ) TO '{{output}}' (FORMAT parquet, COMPRESSION zstd);
        """;

    /// <summary>The standard job in DuckDB SQL: read_csv → the same casts, trim, key, filter → Parquet zstd.</summary>
    public static string StandardJobSql(string file, string output) => $"""
        COPY (
        {StandardJobSelect(file)}
        ) TO '{output}' (FORMAT parquet, COMPRESSION zstd);
        """;

    /// <summary>The standard job's query: read_csv → the casts, trim, key and filter, in the output's column order.</summary>
    public static string StandardJobSelect(string file) => $"""
        SELECT trim(Dealer_Code) || '|' || trim(Invoice_No) AS invoice_key,
               trim(Invoice_No) AS invoice_no,
               strptime(trim(Invoice_Date), '%d-%m-%Y')::DATE AS invoice_date,
               trim(Dealer_Code) AS dealer_code, trim(Dealer_Name) AS dealer_name, trim(Territory) AS territory,
               trim(Region) AS region, trim(Product_Code) AS product_code, trim(Product_Name) AS product_name,
               trim(Category) AS category, trim(Qty)::BIGINT AS qty,
               trim(Unit_Price)::DECIMAL(18,2) AS unit_price, trim(Discount_Pct)::DECIMAL(5,2) AS discount_pct,
               trim(Net_Amount)::DECIMAL(18,2) AS net_amount, trim(Tax_Amount)::DECIMAL(18,2) AS tax_amount,
               trim(Gross_Amount)::DECIMAL(18,2) AS gross_amount, trim(Currency) AS currency,
               trim(Salesman_Code) AS salesman_code, trim(Active_Flag) = 'Y' AS active_flag,
               strptime(trim(Created_At), '%Y-%m-%d %H:%M:%S') AS created_at, trim(Remarks) AS remarks,
               trim(Batch_No) AS batch_no, trim(Is_Return) = 'TRUE' AS is_return
        FROM read_csv('{file}', header = true, all_varchar = true)
        WHERE trim(Qty)::BIGINT <> 0
        """;

    private static async Task<Run> RunContenderAsync(Contender c, string data)
    {
        var output = c.Output ?? "";
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in c.Arguments(data, output))
        {
            start.ArgumentList.Add(a);
        }

        var sw = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var seconds = sw.Elapsed.TotalSeconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{c.Name} failed ({process.ExitCode}): {await stderr}{await stdout}");
        }

        long peak;
        if (File.Exists(output + ".json"))
        {
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(output + ".json"));
            peak = report.RootElement.GetProperty("peakWorkingSetBytes").GetInt64();
            File.Delete(output + ".json");
        }
        else
        {
            var last = (await stdout).TrimEnd().Split('\n')[^1];
            peak = long.Parse(last["peak ".Length..], Inv);
        }

        return new Run(seconds, peak);
    }

    private sealed record Check(bool Same, string Text);

    private static Check Verify(string etlParquet, string duckParquet)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        string Figures(string file)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT count(*), sum(qty)::BIGINT, sum(gross_amount)::DECIMAL(38,2) FROM read_parquet('{file}')";
            using var reader = command.ExecuteReader();
            reader.Read();
            return string.Create(Inv, $"{reader.GetInt64(0):N0} rows, sum(qty) {reader.GetInt64(1):N0}, sum(gross_amount) {reader.GetDecimal(2):N2}");
        }

        var etl = Figures(etlParquet);
        var duck = Figures(duckParquet);
        return etl == duck
            ? new Check(true, $"Same output from EtlStream and DuckDB: {etl}.")
            : new Check(false, $"OUTPUTS DIFFER: EtlStream {etl}; DuckDB {duck}.");
    }

    private static string Render(Dictionary<string, List<Run>> results, Contender[] contenders, long rows, long uncompressed, long compressed, int runs, Check check, bool json)
    {
        static double Median(IEnumerable<double> xs)
        {
            var s = xs.Order().ToArray();
            return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
        }

        var duck = Median(results[contenders[1].Name].Select(r => r.Seconds));
        var floor = Median(results[contenders[0].Name].Select(r => r.Seconds));
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"# The standard job{(json ? " (JSON Lines)" : "")}, {rows:N0} rows");
        sb.AppendLine();
        sb.AppendLine(Inv, $"{DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1e9)} GB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}.");
        sb.AppendLine(Inv, $"Input: {uncompressed / 1e6:N0} MB uncompressed, {compressed / 1e6:N0} MB gzip. Medians of {runs} runs after a warm-up, contenders alternating, each a whole process (start-up included).");
        sb.AppendLine();
        sb.AppendLine("| contender | wall (median) | uncompressed MB/s | input rows/s | peak memory (max) | throughput vs DuckDB | wall vs GZipStream floor |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var c in contenders)
        {
            var r = results[c.Name];
            var wall = Median(r.Select(x => x.Seconds));
            sb.AppendLine(Inv, $"| {c.Name} | {wall:F2} s | {uncompressed / 1e6 / wall:F0} | {rows / wall / 1e3:F0} k | {r.Max(x => x.PeakBytes) / 1e6:F0} MB | {duck / wall:F2}× | {wall / floor:F2}× |");
        }

        sb.AppendLine();
        sb.AppendLine(check.Text);
        sb.AppendLine();
        sb.AppendLine(json
            ? "Produced by `dotnet run -c Release --project perf/EtlStream.Benchmarks -- e2e --format jsonl` (see README)."
            : "Produced by `dotnet run -c Release --project perf/EtlStream.Benchmarks -- e2e` (see README).");
        return sb.ToString();
    }

    private static async Task<long> UncompressedBytesAsync(string file)
    {
        await using var gzip = new GZipStream(File.OpenRead(file), CompressionMode.Decompress);
        var buffer = new byte[1 << 20];
        long total = 0;
        int n;
        while ((n = await gzip.ReadAsync(buffer)) > 0)
        {
            total += n;
        }

        return total;
    }

    private static void PrintPeak()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak {p.PeakWorkingSet64}"));
    }

    private static long Option(string[] args, string name, long fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? long.Parse(args[i + 1], Inv) : fallback;
    }
}

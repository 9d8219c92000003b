using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using DuckDB.NET.Data;

namespace EtlStream.Benchmarks;

/// <summary>
/// Parquet as an input (issue 16): vega-datasets' flights-3m.parquet (3,000,000 rows, 5 columns; fetched with
/// <c>npm pack</c> into perf/data when missing) to Parquet, against DuckDB's <c>COPY (SELECT * FROM read_parquet(…))
/// TO …</c> with 2 threads; and into a DuckDB table, against the same rows loaded from CSV (gzip, written once by
/// DuckDB) through the CSV path with a typed spec. Contenders alternate, each a whole process; medians of the runs.
/// </summary>
internal static class ParquetInputHarness
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private sealed record Contender(string Name, string Input, Func<string, string[]> Arguments, string Output);

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = args.Length > 2 && args[1] == "--runs" ? int.Parse(args[2], Inv) : 3;
        var root = Kernels.RepoRoot.Find();
        var data = Path.Combine(root, "perf", "data");
        Directory.CreateDirectory(data);
        var parquet = Path.Combine(data, "flights-3m.parquet");
        if (!File.Exists(parquet))
        {
            await RunAsync(data, "npm", "pack", "vega-datasets@3.2.1", "--silent");
            await RunAsync(data, "tar", "xzf", "vega-datasets-3.2.1.tgz", "--strip-components=2", "package/data/flights-3m.parquet");
        }

        var csv = Path.Combine(data, "flights-3m.csv.gz");
        if (!File.Exists(csv))
        {
            Sql($"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{csv}' (FORMAT csv, HEADER, COMPRESSION gzip)");
        }

        var spec = Path.Combine(data, "flights-3m.yaml");
        await File.WriteAllTextAsync(spec, """
            table: flights
            columns:
              - { name: date, type: timestamp }
              - { name: delay, type: int64 }
              - { name: distance, type: int64 }
              - { name: origin, type: string }
              - { name: destination, type: string }
            """);
        var work = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "etlstream-perf-parquet");
        Directory.CreateDirectory(work);
        var self = typeof(ParquetInputHarness).Assembly.Location;
        var cli = Path.Combine(AppContext.BaseDirectory, "EtlStream.Cli.dll");
        var contenders = new[]
        {
            new Contender("DuckDB (2 threads) read_parquet → Parquet", parquet, o => [self, "duckdb-parquet", parquet, o], Path.Combine(work, "duckdb.parquet")),
            new Contender("EtlStream Parquet → Parquet", parquet, o => [cli, "load", parquet, "--to", $"parquet:{o}", "--report", o + ".json"], Path.Combine(work, "etl.parquet")),
            new Contender("EtlStream Parquet → DuckDB table", parquet, o => [cli, "load", parquet, "--table", spec, "--to", $"duckdb:{o}?mode=replace", "--report", o + ".json"], Path.Combine(work, "etl-parquet.duckdb")),
            new Contender("EtlStream CSV (gzip) → DuckDB table", csv, o => [cli, "load", csv, "--table", spec, "--to", $"duckdb:{o}?mode=replace", "--report", o + ".json"], Path.Combine(work, "etl-csv.duckdb")),
        };

        var results = contenders.ToDictionary(c => c.Name, _ => new List<(double Seconds, long Peak)>());
        for (var round = 0; round <= runs; round++)
        {
            foreach (var c in contenders)
            {
                var run = await RunContenderAsync(c);
                Console.WriteLine($"{(round == 0 ? "warm-up" : $"run {round}"),-8} {c.Name,-44} {run.Seconds,7:F2} s  peak {run.Peak / 1e6,6:F0} MB");
                if (round > 0)
                {
                    results[c.Name].Add(run);
                }
            }
        }

        var same = Sql($"SELECT count(*) FROM ((SELECT * FROM read_parquet('{contenders[0].Output}') EXCEPT ALL SELECT * FROM read_parquet('{contenders[1].Output}')) UNION ALL (SELECT * FROM read_parquet('{contenders[1].Output}') EXCEPT ALL SELECT * FROM read_parquet('{contenders[0].Output}')))");
        static double Median(IEnumerable<double> xs)
        {
            var s = xs.Order().ToArray();
            return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
        }

        var duck = Median(results[contenders[0].Name].Select(r => r.Seconds));
        var csvPath = Median(results[contenders[3].Name].Select(r => r.Seconds));
        var sb = new StringBuilder();
        sb.AppendLine("# Parquet input: flights-3m.parquet (3,000,000 rows, 5 columns)");
        sb.AppendLine();
        sb.AppendLine(Inv, $"{DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, .NET {Environment.Version}. Input {new FileInfo(parquet).Length / 1e6:F1} MB Parquet (snappy), {new FileInfo(csv).Length / 1e6:F1} MB CSV gzip. Medians of {runs} runs after a warm-up, contenders alternating, each a whole process (start-up included).");
        sb.AppendLine();
        sb.AppendLine("| contender | wall (median) | rows/s | peak memory (max) | vs DuckDB read_parquet → Parquet | vs the CSV path into DuckDB |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var c in contenders)
        {
            var wall = Median(results[c.Name].Select(r => r.Seconds));
            sb.AppendLine(Inv, $"| {c.Name} | {wall:F2} s | {3_000_000 / wall / 1e3:F0} k | {results[c.Name].Max(r => r.Peak) / 1e6:F0} MB | {duck / wall:F2}× | {csvPath / wall:F2}× |");
        }

        sb.AppendLine();
        sb.AppendLine(Inv, $"Rows differing between EtlStream's and DuckDB's Parquet outputs: {same}.");
        sb.AppendLine();
        sb.AppendLine("Produced by `dotnet run -c Release --project perf/EtlStream.Benchmarks -- parquet-input` (see README).");
        Console.WriteLine();
        Console.WriteLine(sb);
        var file = Path.Combine(root, "perf", "results", "parquet-input-3000000.md");
        await File.WriteAllTextAsync(file, sb.ToString());
        Console.WriteLine($"written to {Path.GetRelativePath(root, file)}");
        return same == 0 ? 0 : 1;
    }

    /// <summary>Child process: DuckDB copying a Parquet file to Parquet (zstd, as EtlStream writes) with 2 threads.</summary>
    public static int DuckDbParquet(string input, string output)
    {
        Sql($"SET threads = 2; COPY (SELECT * FROM read_parquet('{input}')) TO '{output}' (FORMAT parquet, COMPRESSION zstd)");
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        Console.WriteLine(string.Create(Inv, $"peak {p.PeakWorkingSet64}"));
        return 0;
    }

    private static long Sql(string sql)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        return reader.Read() && reader.FieldCount > 0 && !reader.IsDBNull(0) ? Convert.ToInt64(reader.GetValue(0), Inv) : 0;
    }

    private static async Task<(double Seconds, long Peak)> RunContenderAsync(Contender c)
    {
        foreach (var stale in new[] { c.Output, c.Output + ".wal" })
        {
            File.Delete(stale);
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in c.Arguments(c.Output))
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

        if (File.Exists(c.Output + ".json"))
        {
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(c.Output + ".json"));
            File.Delete(c.Output + ".json");
            return (seconds, report.RootElement.GetProperty("peakWorkingSetBytes").GetInt64());
        }

        var last = (await stdout).TrimEnd().Split('\n')[^1];
        return (seconds, long.Parse(last["peak ".Length..], Inv));
    }

    private static async Task RunAsync(string folder, string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = folder };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode})");
        }
    }
}

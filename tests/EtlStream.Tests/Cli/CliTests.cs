using System.Text.Json;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Cli;

/// <summary>The <c>etlstream</c> command as scripts use it: a real process, its exit code, stdout and stderr.</summary>
public sealed class CliTests : IDisposable
{
    private static readonly string StandardJobSpec = Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml");
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    internal static Task<(int ExitCode, string Out, string Err)> RunAsync(string workingDirectory, params string[] args) =>
        CliProcess.RunAsync(workingDirectory, null, args);

    [Fact]
    public async Task Generate_then_load_succeeds_with_a_summary_line_and_a_json_report()
    {
        var input = _dir.File("invoices-5000.csv.gz");
        var gen = await RunAsync(_dir.Path, "generate", "invoices", "--rows", "5000", "--seed", "3", "--out", input);
        Assert.Equal((0, "", ""), gen);

        var report = _dir.File("reports/run.json");
        var (code, stdout, stderr) = await RunAsync(_dir.Path, "load", input, "--table", StandardJobSpec, "--to", $"parquet:{_dir.File("out.parquet")}", "--report", report);

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Matches(@"^loaded [\d,]+ rows into table fact_invoice_secondary \(5,000 read, [\d,]+ filtered\) from 1 file in [\d.]+ s: [\d.]+ (kB|MB) at [\d.,]+ [kMG]B/s, peak memory [\d,]+ MB\n$", stdout);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
        var root = json.RootElement;
        Assert.Equal("succeeded", root.GetProperty("status").GetString());
        Assert.Equal(5000, root.GetProperty("rowsRead").GetInt64());
        var loaded = root.GetProperty("rowsLoaded").GetInt64();
        Assert.Equal(loaded, Convert.ToInt64(DuckDbQuery.Scalar(null, $"SELECT count(*) FROM read_parquet({DuckDbQuery.Literal(_dir.File("out.parquet"))})")));
        Assert.Equal(5000 - loaded, root.GetProperty("rowsFiltered").GetInt64());
        Assert.Equal(0, root.GetProperty("rowsRejected").GetInt64());
        Assert.True(root.GetProperty("bytesRead").GetInt64() > 5000 * 150);
        Assert.True(root.GetProperty("elapsedSeconds").GetDouble() > 0);
        Assert.True(root.GetProperty("peakWorkingSetBytes").GetInt64() > 0);
        var stages = root.GetProperty("stages");
        Assert.Equal(["decompress", "parse", "transform", "write"], stages.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Bad_data_exits_1_naming_file_line_and_field()
    {
        var input = _dir.File("bad.csv");
        await File.WriteAllTextAsync(input, "a,b\n1,2\n3\n");
        var (code, stdout, stderr) = await RunAsync(_dir.Path, "load", input, "--to", $"parquet:{_dir.File("bad.parquet")}");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal($"error: {input}:3:1: expected 2 fields, found 1\n", stderr);
        Assert.False(File.Exists(_dir.File("bad.parquet")));
    }

    [Fact]
    public async Task An_invalid_spec_exits_2_listing_every_problem()
    {
        var spec = _dir.File("bad.yaml");
        await File.WriteAllTextAsync(spec, "table: t\ncolumns:\n  - { name: a, type: intt }\n  - { name: b, type: string, colour: red }\n");
        var input = _dir.File("in.csv");
        await File.WriteAllTextAsync(input, "a,b\n1,2\n");
        var (code, _, stderr) = await RunAsync(_dir.Path, "load", input, "--table", spec, "--to", $"parquet:{_dir.File("x.parquet")}");
        Assert.Equal(2, code);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"error: {spec}: columns[0].type: unknown type 'intt'", lines[0]);
        Assert.StartsWith($"error: {spec}: columns[1].colour: unknown key", lines[1]);
    }

    [Theory]
    [InlineData("load", "nowhere/*.csv.gz", "--to", "parquet:x.parquet")]
    [InlineData("load", "nowhere.csv", "--to", "parquet:x.parquet")]
    [InlineData("load", "in.csv", "--to", "mysql:nope")]
    [InlineData("load", "in.csv")]
    [InlineData("load", "in.csv", "--to", "parquet:x.parquet", "--no-such-option")]
    [InlineData("frobnicate")]
    public async Task Bad_usage_exits_2_with_a_message(params string[] args)
    {
        await File.WriteAllTextAsync(_dir.File("in.csv"), "a\n1\n");
        var (code, stdout, stderr) = await RunAsync(_dir.Path, args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("error: ", stderr);
        Assert.False(File.Exists(_dir.File("x.parquet")));
    }

    [Fact]
    public async Task Demo_loads_a_tenant_week_into_duckdb_and_parquet_and_is_safe_to_rerun()
    {
        var demo = _dir.File("demo");
        for (var run = 0; run < 2; run++)
        {
            var (code, stdout, stderr) = await RunAsync(_dir.Path, "demo", "--dir", demo, "--rows", "1000");
            Assert.Equal("", stderr);
            Assert.Equal(0, code);
            Assert.Contains("warehouse: loaded", stdout);
            Assert.Contains("(4,000 read,", stdout);
            Assert.Contains("from 4 files", stdout);
            Assert.Contains("Gross sales by region", stdout);
        }

        var warehouse = Path.Combine(demo, "warehouse.duckdb");
        var inWarehouse = Convert.ToInt64(DuckDbQuery.Scalar(warehouse, "SELECT count(*) FROM fact_invoice_secondary"));
        var inLake = Convert.ToInt64(DuckDbQuery.Scalar(null, $"SELECT count(*) FROM read_parquet({DuckDbQuery.Literal(Path.Combine(demo, "lake", "fact_invoice_secondary.parquet"))})"));
        Assert.InRange(inWarehouse, 3800, 3999); // 4 files × 1,000 rows, less the qty = 0 rows; not doubled by the rerun
        Assert.Equal(inWarehouse, inLake);
        Assert.Equal(
            ["invoices_2026-11-20.csv.gz", "invoices_2026-11-21.csv.gz", "invoices_2026-11-22.csv.gz", "invoices_2026-11-23.csv.zip"],
            Directory.GetFiles(Path.Combine(demo, "incoming")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_demo_runs_in_a_folder_whose_name_holds_a_semicolon()
    {
        var demo = _dir.File("de;mo");

        var (code, stdout, stderr) = await RunAsync(_dir.Path, "demo", "--dir", demo, "--rows", "200");

        Assert.Equal((0, ""), (code, stderr));
        Assert.Contains($"Gross sales by region in {Path.Combine(demo, "warehouse.duckdb")} (DuckDB):\n      region  invoices         qty      gross_amount\n", stdout);
        Assert.True(File.Exists(Path.Combine(demo, "warehouse.duckdb")));
    }

    [Fact]
    public async Task An_unknown_argument_is_echoed_with_its_control_characters_escaped()
    {
        var (code, stdout, stderr) = await RunAsync(_dir.Path, "load", "in.csv", "--to", "parquet:x.parquet", "--bogus\u001b[2J");

        Assert.Equal((2, ""), (code, stdout));
        Assert.StartsWith("error: Unrecognized command or argument '--bogus\\u001B[2J'.\n", stderr);
        Assert.DoesNotContain('\u001b', stderr);
    }

    [Fact]
    public async Task A_tenants_warning_has_its_control_characters_escaped()
    {
        var root = _dir.File("configs");
        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        var file = Path.Combine(root, "tenants", "acme", "tenant.yaml");
        File.WriteAllText(file, "tenant: \"ac\\e]0;owned\\ame\"\n");

        var (code, _, stderr) = await RunAsync(_dir.Path, "tenants", "--config", root);

        Assert.Equal(2, code);
        Assert.Contains($"warning: {file}: tenant: 'ac\\u001B]0;owned\\u0007me' does not match its folder 'acme'\n", stderr);
        Assert.DoesNotContain('\u001b', stderr);
        Assert.DoesNotContain('\u0007', stderr);
    }
}

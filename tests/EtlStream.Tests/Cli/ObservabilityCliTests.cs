using System.Text.Json;
using EtlStream.Pipeline;
using EtlStream.Tests.Support;
using NJsonSchema;

namespace EtlStream.Tests.Cli;

/// <summary>What operators see and machines read: the report against its published schema, JSON output, explain, no progress when redirected.</summary>
public sealed class ObservabilityCliTests : IDisposable
{
    private static readonly string StandardJobSpec = Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml");
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Reports_of_successful_and_failed_runs_validate_against_the_published_schema()
    {
        var schema = await JsonSchema.FromJsonAsync(RunReport.Schema());
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "src", "EtlStream", "Pipeline", "RunReport.schema.json")), RunReport.Schema());

        await File.WriteAllTextAsync(_dir.File("a.csv"), "id,qty\n1,5\n2,0\n3,7\n");
        await File.WriteAllTextAsync(_dir.File("b.csv"), "id,qty\n4,1\n");
        var ok = await CliTests.RunAsync(_dir.Path, "load", _dir.Path, "--to", $"parquet:{_dir.File("out/x.parquet")}", "--report", _dir.File("ok.json"));
        Assert.Equal(0, ok.ExitCode);
        var okJson = await File.ReadAllTextAsync(_dir.File("ok.json"));
        Assert.Empty(schema.Validate(okJson));
        using var doc = JsonDocument.Parse(okJson);
        var sources = doc.RootElement.GetProperty("sources").EnumerateArray().ToList();
        Assert.Equal([_dir.File("a.csv"), _dir.File("b.csv")], sources.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal([3L, 1L], sources.Select(s => s.GetProperty("rowsRead").GetInt64()));
        Assert.Equal([19L, 11L], sources.Select(s => s.GetProperty("bytesRead").GetInt64()));
        Assert.Contains(doc.RootElement.GetProperty("bottleneck").GetString(), new[] { "decompress", "parse", "transform", "write" });

        await File.WriteAllTextAsync(_dir.File("c.csv"), "id,qty\n1\n");
        var failed = await CliTests.RunAsync(_dir.Path, "load", _dir.File("c.csv"), "--to", $"parquet:{_dir.File("y.parquet")}", "--report", _dir.File("failed.json"));
        Assert.Equal(1, failed.ExitCode);
        var failedJson = await File.ReadAllTextAsync(_dir.File("failed.json"));
        Assert.Empty(schema.Validate(failedJson));
        Assert.Contains("\"status\": \"failed\"", failedJson);
    }

    [Fact]
    public async Task Output_json_prints_only_the_report_and_no_progress_reaches_redirected_output()
    {
        var input = _dir.File("in.csv.gz");
        Assert.Equal(0, (await CliTests.RunAsync(_dir.Path, "generate", "invoices", "--rows", "3000", "--out", input)).ExitCode);
        var (code, stdout, stderr) = await CliTests.RunAsync(_dir.Path, "load", input, "--table", StandardJobSpec, "--to", $"parquet:{_dir.File("o.parquet")}", "--output", "json");
        Assert.Equal(0, code);
        Assert.Equal("", stderr); // no progress: stderr is redirected
        Assert.Empty((await JsonSchema.FromJsonAsync(RunReport.Schema())).Validate(stdout));
        Assert.Equal(3000, JsonDocument.Parse(stdout).RootElement.GetProperty("rowsRead").GetInt64());
        Assert.DoesNotContain("\u001b[", stdout); // no terminal escapes
    }

    [Fact]
    public async Task Explain_prints_the_mesh_of_a_shipped_tenants_job()
    {
        var (code, stdout, stderr) = await CliTests.RunAsync(RepoPaths.Root, "explain", "--tenant", "pidilite", "--job", "morning");
        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        var lines = stdout.Split('\n');
        Assert.Equal("explain: tenant pidilite (Pidilite Industries), job morning, into duckdb database datawiz_pidilite", lines[0]);
        Assert.Equal("  steps, in order: dimensions -> facts", lines[1]);
        // Relative tenant paths are resolved against the folder holding configs/ (here the repository root).
        var incoming = Path.Combine(RepoPaths.Root, "data", "tenants", "pidilite", "incoming");
        Assert.Equal($"  dimensions / dealers (merge) <- {incoming}/dealers_{{date}}.csv.gz", lines[2]);
        Assert.Contains($"  facts / fact_invoice_secondary (append) <- {incoming}/invoices_{{date}}.csv.gz", lines);
        Assert.Contains(lines, l => l.StartsWith("    parse      CSV → Arrow     65,536-row batches of at most ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("    load       ActionBlock     duckdb datawiz_pidilite.fact_invoice_secondary (parallelism 1, capacity 1)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("    batch      chunker         gathers 65,536 rows per write", StringComparison.Ordinal));
        Assert.Equal(5, lines.Count(l => l.StartsWith("    memory bound ≈ ", StringComparison.Ordinal)));
        Assert.Equal(5, lines.Count(l => l.StartsWith("    memory budget 256.0 MiB (--memory-budget): read-ahead 10.0 MiB, ", StringComparison.Ordinal)));
    }
}

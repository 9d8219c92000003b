using EtlStream.Tests.Support;

namespace EtlStream.Tests.Formats.Json;

/// <summary>
/// The pinned JSON Lines job: <c>generate invoices --format jsonl</c> and <c>perf/jobs/invoices-jsonl.yaml</c> give
/// exactly the CSV job's output for the same seed, compared value by value by DuckDB.
/// </summary>
public sealed class JsonStandardJobTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_json_lines_job_gives_exactly_the_csv_jobs_output()
    {
        var jsonl = _dir.File("invoices-20000.jsonl.gz");
        var csv = _dir.File("invoices-20000.csv.gz");
        Assert.Equal(0, (await CliProcess.RunAsync(_dir.Path, null, "generate", "invoices", "--rows", "20000", "--seed", "7", "--format", "jsonl", "--out", jsonl)).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync(_dir.Path, null, "generate", "invoices", "--rows", "20000", "--seed", "7", "--out", csv)).ExitCode);

        var fromJson = _dir.File("json.parquet");
        var fromCsv = _dir.File("csv.parquet");
        var (code, stdout, err) = await CliProcess.RunAsync(_dir.Path, null, "load", jsonl, "--table", Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices-jsonl.yaml"), "--to", $"parquet:{fromJson}", "--no-progress");
        Assert.True(code == 0, err);
        Assert.StartsWith("loaded 19,458 rows into table fact_invoice_secondary (20,000 read, 542 filtered)", stdout);
        (code, _, err) = await CliProcess.RunAsync(_dir.Path, null, "load", csv, "--table", Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml"), "--to", $"parquet:{fromCsv}", "--no-progress");
        Assert.True(code == 0, err);

        var j = $"read_parquet({DuckDbQuery.Literal(fromJson)})";
        var c = $"read_parquet({DuckDbQuery.Literal(fromCsv)})";
        Assert.Equal(DuckDbQuery.Describe(null, c), DuckDbQuery.Describe(null, j));
        Assert.Equal(19_458L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {j}"));
        Assert.Equal(0L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM (SELECT * FROM {j} EXCEPT ALL SELECT * FROM {c})"));
        Assert.Equal(0L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM (SELECT * FROM {c} EXCEPT ALL SELECT * FROM {j})"));

        // The JSON side did the work too: text with spaces was trimmed, nulls and quotes came through.
        Assert.Equal(0L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {j} WHERE dealer_name <> trim(dealer_name)"));
        Assert.True((long)DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {j} WHERE remarks LIKE '%\n%'")! > 0);
        Assert.True((long)DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {j} WHERE salesman_code IS NULL")! > 0);
        Assert.True((long)DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {j} WHERE product_name LIKE '%\"%'")! > 0);
    }
}

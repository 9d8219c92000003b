using EtlStream.Formats.Csv;
using EtlStream.Pipeline;
using EtlStream.Sinks.Parquet;
using EtlStream.Sources;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks;

/// <summary>A Parquet lake table: one file per source file, named from its identity, so loads are idempotent.</summary>
public sealed class ParquetLakeSinkTests : IDisposable
{
    private static readonly TableSpec Spec = TableSpecReader.Read("""
        table: t
        columns:
          - { name: id, type: int64 }
          - { name: name, type: string }
        """, "t.yaml") with { Csv = CsvOptions.Default with { BatchRows = 7 } };

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Lake => Path.Combine(_dir.Path, "lake", "t");

    private string Incoming => Path.Combine(_dir.Path, "incoming");

    private IReadOnlyList<SourceFile> Write(string name, int firstId, int rows)
    {
        Directory.CreateDirectory(Incoming);
        File.WriteAllText(Path.Combine(Incoming, name),
            "id,name\n" + string.Concat(Enumerable.Range(firstId, rows).Select(i => $"{i},n{i}\n")));
        return LocalFileSource.List(Incoming);
    }

    private async Task<long> LoadAsync(IReadOnlyList<SourceFile> files, bool replace = false)
    {
        await using var sink = new ParquetLakeSink(new ParquetLakeSinkOptions { Folder = Lake, Replace = replace });
        var result = await new LoadPipeline(new LoadOptions { ParallelFiles = 3 }).RunAsync(files, Spec, sink, default);
        return result.RowsLoaded;
    }

    private List<object?[]> Rows() =>
        DuckDbQuery.Rows($"SELECT id, name FROM read_parquet({DuckDbQuery.Literal(Path.Combine(Lake, "*.parquet"))}) ORDER BY id");

    private string[] LakeFiles() => [.. Directory.GetFiles(Lake).Select(Path.GetFileName).Order()!];

    [Fact]
    public async Task Each_source_file_becomes_one_file_named_from_its_identity_and_a_rerun_rewrites_it_instead_of_doubling()
    {
        Write("b_2026-11-23.csv", 100, 30);
        Write("empty.csv", 0, 0);
        var files = Write("a_2026-11-24.csv.gz".Replace(".gz", "", StringComparison.Ordinal), 1, 20);

        Assert.Equal(50, await LoadAsync(files));
        var first = LakeFiles();
        Assert.Equal(files.Select(ParquetLakeSink.FileNameOf).Order(), first);
        Assert.Matches("^a_2026-11-24-[0-9a-f]{8}-[0-9a-f]{8}\\.parquet$", first[0]);

        // A crash after the files were written but before the ledger heard of them: the rerun writes the same names.
        Assert.Equal(50, await LoadAsync(files));

        Assert.Equal(first, LakeFiles());
        var rows = Rows();
        Assert.Equal(50, rows.Count);
        Assert.Equal([.. Enumerable.Range(1, 20).Concat(Enumerable.Range(100, 30)).Select(i => (object?)(long)i)], rows.Select(r => r[0]));
        Assert.Equal("n100", rows[20][1]);
    }

    [Fact]
    public async Task A_new_version_of_a_source_replaces_the_file_of_the_old_one()
    {
        Write("other.csv", 500, 5);
        var files = Write("day.csv", 1, 10);
        await LoadAsync(files);
        var before = LakeFiles();

        File.SetLastWriteTimeUtc(Path.Combine(Incoming, "day.csv"), DateTime.UtcNow.AddMinutes(5)); // a re-upload: new version
        files = Write("day.csv", 1, 12);
        await LoadAsync([.. files.Where(f => f.Name.EndsWith("day.csv", StringComparison.Ordinal))]);

        var after = LakeFiles();
        Assert.Equal(2, after.Length);
        Assert.Contains(before.Single(f => f.StartsWith("other-", StringComparison.Ordinal)), after);
        Assert.DoesNotContain(before.Single(f => f.StartsWith("day-", StringComparison.Ordinal)), after);
        Assert.Equal(17, Rows().Count);
    }

    [Fact]
    public async Task A_refresh_swaps_in_a_folder_of_only_its_files()
    {
        await LoadAsync(Write("old.csv", 1, 10));
        File.Delete(Path.Combine(Incoming, "old.csv"));
        var files = Write("new.csv", 50, 3);

        Assert.Equal(3, await LoadAsync(files, replace: true));

        Assert.Equal([ParquetLakeSink.FileNameOf(files.Single())], LakeFiles());
        Assert.Equal([50L, 51L, 52L], Rows().Select(r => (long)r[0]!));
        Assert.Equal(["t"], Directory.GetDirectories(Path.Combine(_dir.Path, "lake")).Select(Path.GetFileName)); // no temp or old folder left
    }

    [Fact]
    public async Task A_failed_run_leaves_the_lake_as_it_was()
    {
        Write("good.csv", 1, 10);
        Directory.CreateDirectory(Incoming);
        File.WriteAllText(Path.Combine(Incoming, "zbad.csv"), "id,name\n1,a\n2,b\nnot-a-number,c\n");
        var files = LocalFileSource.List(Incoming);

        await LoadAsync([.. files.Where(f => f.Name.EndsWith("good.csv", StringComparison.Ordinal))]);
        var before = LakeFiles();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => LoadAsync(files)); // one rejected row of 3 exceeds the reject ratio

        Assert.Contains("zbad.csv", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, LakeFiles()); // no pending or temp file left, none of zbad.csv's rows published
        Assert.Equal(10, Rows().Count);
    }
}

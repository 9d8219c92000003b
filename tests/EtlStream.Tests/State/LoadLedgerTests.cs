using EtlStream.Sources;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.State;

public sealed class LoadLedgerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static LedgerEntry Entry(string name, string version, DateOnly? date, string run = "r1") =>
        new("acme", "duckdb:db/facts", name, version, 10, date, run, DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task Runs_committed_files_and_watermarks_survive_reopening()
    {
        var path = _dir.File("state/ledger.db");
        string first, second;
        await using (var ledger = await LoadLedger.OpenAsync(path, default))
        {
            first = await ledger.StartRunAsync("acme", "morning", new DateOnly(2026, 11, 23), default);
            await ledger.RecordAsync([Entry("in/a_2026-11-23.csv", "v1", new(2026, 11, 23)), Entry("in/b_2026-11-20.csv", "v1", new(2026, 11, 20))], default);
            await ledger.FinishRunAsync(first, RunStatus.Succeeded, 20, 2, null, default);
            second = await ledger.StartRunAsync("acme", "morning", new DateOnly(2026, 11, 24), default);
        }

        await using (var ledger = await LoadLedger.OpenAsync(path, default))
        {
            var runs = await ledger.RunsAsync("acme", 10, default);
            Assert.Equal([second, first], runs.Select(r => r.RunId));
            Assert.Equal((RunStatus.Running, RunStatus.Succeeded), (runs[0].Status, runs[1].Status));
            Assert.Equal((20L, 2), (runs[1].RowsLoaded, runs[1].FilesLoaded));
            Assert.Empty(await ledger.RunsAsync("other", 10, default));
            Assert.Equal(new DateOnly(2026, 11, 24), (await ledger.RunAsync(second, default))!.RunDate);

            // A re-upload replaces its entry; the watermark only moves forward.
            await ledger.RecordAsync([Entry("in/b_2026-11-20.csv", "v2", new(2026, 11, 20), "r2")], default);
            var committed = await ledger.CommittedAsync("acme", "duckdb:db/facts", default);
            Assert.Equal(["in/a_2026-11-23.csv", "in/b_2026-11-20.csv"], committed.Keys.Order());
            Assert.Equal(("v2", "r2"), (committed["in/b_2026-11-20.csv"].SourceVersion, committed["in/b_2026-11-20.csv"].RunId));
            Assert.Equal(new DateOnly(2026, 11, 23), await ledger.WatermarkAsync("acme", "duckdb:db/facts", default));
            Assert.Null(await ledger.WatermarkAsync("acme", "duckdb:db/other", default));
        }
    }

    [Fact]
    public void Selection_skips_committed_files_and_applies_the_policy_to_re_uploads()
    {
        static SourceFile File(string name, string version) => new(name, 1, version, _ => throw new InvalidOperationException());
        var listed = new[] { File("a", "v1"), File("b", "v2"), File("c", "v1") };
        var committed = new[] { Entry("a", "v1", null), Entry("b", "v1", null) }.ToDictionary(e => e.SourceName);

        var skip = FileSelection.Select(listed, committed, ChangedFilePolicy.Skip);
        Assert.Equal(["c"], skip.ToLoad.Select(f => f.Name));
        Assert.Equal(["b"], skip.ChangedSkipped.Select(f => f.Name));
        Assert.Equal(["a"], skip.AlreadyLoaded.Select(f => f.Name));
        Assert.Empty(skip.Replaced);

        var replace = FileSelection.Select(listed, committed, ChangedFilePolicy.ReplacePartition);
        Assert.Equal(["b", "c"], replace.ToLoad.Select(f => f.Name));
        Assert.Equal(["b"], replace.Replaced.Select(f => f.Name));
        Assert.Empty(replace.ChangedSkipped);
    }

    [Fact]
    public void Shards_cover_every_file_exactly_once_and_keep_their_files_when_others_are_added()
    {
        var names = Enumerable.Range(0, 2_000).Select(i => $"az://drop/invoices_{new DateOnly(2024, 1, 1).AddDays(i % 700):yyyy-MM-dd}_{i}.csv.gz").ToList();
        var shards = Enumerable.Range(0, 7).Select(i => Shard.Parse($"{i}/7")).ToList();
        var owners = names.Select(n => shards.Count(s => s.Owns(n))).ToList();
        Assert.All(owners, o => Assert.Equal(1, o));
        Assert.All(shards, s => Assert.InRange(names.Count(s.Owns), 200, 380)); // spread, not all on one

        var before = names.Where(shards[3].Owns).ToList();
        Assert.Equal(before, names.Concat(["az://drop/late.csv.gz"]).Where(shards[3].Owns).Where(n => n != "az://drop/late.csv.gz"));
        Assert.True(Shard.All.Owns("anything"));

        var error = Assert.Throws<ConfigException>(() => Shard.Parse("4/4"));
        Assert.Equal("--shard '4/4': expected i/N with 0 <= i < N (e.g. 0/4 … 3/4)", error.Errors.Single());
        Assert.Throws<ConfigException>(() => Shard.Parse("1"));
        Assert.Throws<ConfigException>(() => Shard.Parse("-1/3"));
    }

    [Theory]
    [InlineData("invoices_{date}.csv.gz", "incoming/invoices_2026-11-24.csv.gz", "2026-11-24")]
    [InlineData("inv*_{date}.csv*", "/x/invoices_2026-02-28.csv", "2026-02-28")]
    [InlineData("invoices_{date}.csv.gz", "invoices_2026-13-01.csv.gz", null)]
    [InlineData("invoices_{date}.csv.gz", "dealers_2026-11-24.csv.gz", null)]
    public void A_file_date_is_read_from_the_name_through_the_pattern(string pattern, string file, string? expected)
    {
        Assert.Equal(expected is null ? null : DateOnly.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), FileDates.Parse(pattern, file));
    }
}

using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Sinks.StarRocks;
using EtlStream.Sources;
using EtlStream.Tables;

namespace EtlStream.Tests.StarRocks;

public sealed class StreamLoadLabelTests
{
    private static readonly Schema Shape = new Schema.Builder()
        .Field(new Field("id", Int64Type.Default, false))
        .Field(new Field("name", StringType.Default, true, [new(ArrowTypes.MaxLengthKey, "20")]))
        .Build();

    private static SourceFile File(string name = "in/2026-11-24/invoices.csv.gz", string etag = "\"0x8DC1\"", long length = 1234) =>
        new(name, length, etag, _ => throw new NotSupportedException());

    private static string Label(SourceFile file, int? chunk, Schema? shape = null) =>
        StreamLoadLabel.For("acme", "sales", "fact_invoice", file, chunk, StreamLoadLabel.ShapeHash(shape ?? Shape));

    [Fact]
    public void The_same_chunk_always_gets_the_same_label_in_the_allowed_alphabet()
    {
        var label = Label(File(), 3);

        Assert.Equal(label, Label(File(), 3)); // deterministic: a retry or a rerun reuses it
        Assert.Matches("^etl_acme_fact_invoice_[0-9a-f]{6}_invoices_csv_gz_[0-9a-f]{20}_c3$", label);
        Assert.True(StreamLoadLabel.IsValid(label));
        Assert.StartsWith(StreamLoadLabel.Prefix("acme", "sales", "fact_invoice"), label, StringComparison.Ordinal);
        Assert.EndsWith("_f", Label(File(), null), StringComparison.Ordinal); // a file's transaction label
    }

    [Fact]
    public void Every_part_of_the_identity_changes_the_label()
    {
        var baseline = Label(File(), 0);
        var others = new[]
        {
            Label(File(), 1),
            Label(File(etag: "\"0x8DC2\""), 0), // the object was overwritten: a new version loads
            Label(File(length: 1235), 0),
            Label(File(name: "in/2026-11-25/invoices.csv.gz"), 0), // same file name, other folder
            Label(File(), 0, new Schema.Builder().Field(new Field("id", Int64Type.Default, false)).Build()), // the table spec changed
            StreamLoadLabel.For("other", "sales", "fact_invoice", File(), 0, StreamLoadLabel.ShapeHash(Shape)),
            StreamLoadLabel.For("acme", "sales2", "fact_invoice", File(), 0, StreamLoadLabel.ShapeHash(Shape)),
        };

        Assert.Equal(others.Length, others.Distinct().Count());
        Assert.DoesNotContain(baseline, others);
    }

    [Fact]
    public void Long_and_odd_names_are_cut_to_safe_characters_and_stay_within_128()
    {
        var label = StreamLoadLabel.For(new string('ü', 300), "db", new string('t', 64), File(name: new string('x', 500) + " ünïcode (1).csv"), int.MaxValue, "h");

        Assert.True(label.Length <= StreamLoadLabel.MaxLength, label);
        Assert.True(StreamLoadLabel.IsValid(label), label);
    }

    [Theory]
    [InlineData("a", true)]
    [InlineData("abc_DEF-123", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("dot.label", false)]
    [InlineData("ü", false)]
    public void Validates_labels_as_the_server_does(string label, bool valid)
    {
        Assert.Equal(valid, StreamLoadLabel.IsValid(label));
        Assert.False(StreamLoadLabel.IsValid(new string('a', 129)));
    }
}

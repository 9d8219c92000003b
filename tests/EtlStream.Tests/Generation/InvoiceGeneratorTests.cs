using System.IO.Compression;
using System.Text;
using EtlStream.Generation;

namespace EtlStream.Tests.Generation;

public sealed class InvoiceGeneratorTests
{
    private const int Rows = 20_000;

    private static readonly Lazy<byte[]> Sample = new(() => Generate(Rows, seed: 42));

    [Fact]
    public void Same_seed_gives_identical_bytes() => Assert.Equal(Sample.Value, Generate(Rows, seed: 42));

    [Fact]
    public void Different_seed_gives_different_bytes() => Assert.NotEqual(Sample.Value, Generate(Rows, seed: 43));

    [Fact]
    public void Header_is_exact_and_file_is_utf8_without_bom()
    {
        const string expected = "Invoice_No,Invoice_Date,Dealer_Code,Dealer_Name,Territory,Region,Product_Code,Product_Name,"
            + "Category,Qty,Unit_Price,Discount_Pct,Net_Amount,Tax_Amount,Gross_Amount,Currency,Salesman_Code,Active_Flag,"
            + "Created_At,Remarks,Batch_No,Is_Return";
        Assert.Equal(expected, string.Join(',', InvoiceGenerator.Header));
        Assert.Equal(22, InvoiceGenerator.Header.Count);

        byte[] bytes = Sample.Value;
        Assert.NotEqual(0xEF, bytes[0]);
        Assert.Equal(expected + "\n", Encoding.UTF8.GetString(bytes, 0, expected.Length + 1));
        Assert.DoesNotContain((byte)'\r', bytes);
        _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
    }

    [Fact]
    public void Zero_rows_is_just_the_header()
    {
        Assert.Equal(string.Join(',', InvoiceGenerator.Header) + "\n", Encoding.UTF8.GetString(Generate(0, 1)));
    }

    [Fact]
    public void Rows_follow_the_standard_job_shapes()
    {
        byte[] bytes = Sample.Value;
        List<Record> records = CsvRecords.Parse(bytes);

        Assert.Equal(Rows + 1, records.Count);
        Assert.All(records, r => Assert.Equal(22, r.Fields.Count));
        List<Record> rows = records.Skip(1).ToList();

        double averageRowBytes = (double)(bytes.Length - records[0].ByteLength) / Rows;
        Assert.InRange(averageRowBytes, 180, 280);

        double zeroShare = rows.Count(r => r.Fields[9].Value == "0") / (double)Rows;
        Assert.InRange(zeroShare, 0.02, 0.04);
        double emptySalesman = rows.Count(r => r.Fields[16].Value.Length == 0) / (double)Rows;
        Assert.InRange(emptySalesman, 0.035, 0.065);
        double emptyBatch = rows.Count(r => r.Fields[20].Value.Length == 0) / (double)Rows;
        Assert.InRange(emptyBatch, 0.035, 0.065);
        double emptyRemarks = rows.Count(r => r.Fields[19].Value.Length == 0) / (double)Rows;
        Assert.InRange(emptyRemarks, 0.7, 0.95);

        int padded = rows.Sum(r => new[] { 3, 4, 5, 7, 8 }.Count(i => r.Fields[i].Value != r.Fields[i].Value.Trim()));
        Assert.InRange(padded / (5.0 * Rows), 0.01, 0.03);

        Assert.InRange(rows.Select(r => r.Fields[4].Value.Trim()).Distinct().Count(), 150, 200);
        Assert.InRange(rows.Select(r => r.Fields[5].Value.Trim()).Distinct().Count(), 6, 8);
        Assert.InRange(rows.Select(r => r.Fields[8].Value.Trim()).Distinct().Count(), 25, 30);

        foreach (Record record in rows)
        {
            IReadOnlyList<Field> f = record.Fields;
            Assert.Matches(@"^INV-\d{9}$", f[0].Value);
            Assert.Matches(@"^\d{2}-\d{2}-\d{4}$", f[1].Value);
            Assert.Matches(@"^D\d{6}$", f[2].Value);
            Assert.Matches(@"^P\d{6}$", f[6].Value);
            Assert.True(f[3].Value.Length <= 80 + 2, f[3].Value);
            Assert.True(f[7].Value.Length <= 100 + 2, f[7].Value);
            Assert.True(f[19].Value.Length <= 300 + 2, f[19].Value);
            int qty = int.Parse(f[9].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(qty, -50, 500);
            foreach (int i in new[] { 10, 11, 12, 13, 14 })
            {
                Assert.Matches(@"^-?\d+\.\d{2}$", f[i].Value);
            }

            decimal price = Dec(f[10]);
            decimal discount = Dec(f[11]);
            decimal net = Dec(f[12]);
            decimal tax = Dec(f[13]);
            Assert.InRange(discount, 0m, 40m);
            Assert.True(Math.Abs(net - Math.Round(qty * price * (1 - (discount / 100)), 2, MidpointRounding.AwayFromZero)) <= 0.01m);
            Assert.Equal(Math.Round(net * 0.18m, 2, MidpointRounding.AwayFromZero), tax);
            Assert.Equal(net + tax, Dec(f[14]));
            Assert.Contains(f[15].Value, new[] { "INR", "USD", "AED" });
            Assert.Matches(@"^(S\d{5})?$", f[16].Value);
            Assert.Contains(f[17].Value, new[] { "Y", "N" });
            Assert.Matches(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", f[18].Value);
            Assert.Matches(@"^(B[0-9A-F]{8})?$", f[20].Value);
            Assert.Contains(f[21].Value, new[] { "TRUE", "FALSE" });
        }

        List<Field> quoted = rows.SelectMany(r => r.Fields).Where(f => f.Quoted).ToList();
        Assert.Contains(quoted, f => f.Value.Contains(',', StringComparison.Ordinal));
        Assert.Contains(quoted, f => f.Value.Contains('"', StringComparison.Ordinal));
        Assert.Contains(quoted, f => f.Value.Contains('\n', StringComparison.Ordinal));
        Assert.Contains(quoted, f => f.Value.Any(c => c > 127 && char.IsLetter(c)));
        Assert.Contains(rows, r => r.Fields[3].Value.Any(c => c > 127 && char.IsLetter(c)));
        Assert.Contains(rows, r => r.Fields[7].Quoted);
    }

    [Theory]
    [InlineData(".csv.gz")]
    [InlineData(".csv.zst")]
    [InlineData(".csv.bz2")]
    [InlineData(".csv.zip")]
    [InlineData(".csv")]
    public async Task File_output_decompresses_to_the_plain_bytes(string extension)
    {
        string folder = Path.Combine(Path.GetTempPath(), "etlstream-tests", Guid.NewGuid().ToString("N"), "nested");
        string path = Path.Combine(folder, "invoices" + extension);
        try
        {
            await InvoiceGenerator.WriteFileAsync(path, 3_000, seed: 7, CancellationToken.None);

            byte[] expected = Generate(3_000, seed: 7);
            await using var file = File.OpenRead(path);
            var entries = new List<byte[]>();
            await foreach (var entry in EtlStream.Compression.Decompression.OpenAsync(file, path, CancellationToken.None))
            {
                await using (entry)
                {
                    var copy = new MemoryStream();
                    await entry.Stream.CopyToAsync(copy);
                    entries.Add(copy.ToArray());
                }
            }

            Assert.Equal(expected, Assert.Single(entries));
            if (extension == ".csv.gz")
            {
                await using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
                var copy = new MemoryStream();
                await gz.CopyToAsync(copy);
                Assert.Equal(expected, copy.ToArray());
            }
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    private static decimal Dec(Field field) => decimal.Parse(field.Value, System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] Generate(long rows, int seed)
    {
        var output = new MemoryStream();
        InvoiceGenerator.WriteCsvAsync(output, rows, seed, CancellationToken.None).GetAwaiter().GetResult();
        return output.ToArray();
    }

    private sealed record Field(string Value, bool Quoted);

    private sealed record Record(IReadOnlyList<Field> Fields, int ByteLength);

    /// <summary>A small RFC 4180 reader: quoted fields may hold commas, doubled quotes and line breaks.</summary>
    private static class CsvRecords
    {
        public static List<Record> Parse(byte[] bytes)
        {
            string text = Encoding.UTF8.GetString(bytes);
            var records = new List<Record>();
            var fields = new List<Field>();
            var value = new StringBuilder();
            int recordStart = 0;
            int i = 0;
            while (i < text.Length)
            {
                bool quoted = false;
                value.Clear();
                if (text[i] == '"')
                {
                    quoted = true;
                    i++;
                    while (true)
                    {
                        Assert.True(i < text.Length, "unterminated quoted field");
                        if (text[i] == '"')
                        {
                            if (i + 1 < text.Length && text[i + 1] == '"')
                            {
                                value.Append('"');
                                i += 2;
                                continue;
                            }

                            i++;
                            break;
                        }

                        value.Append(text[i++]);
                    }
                }
                else
                {
                    while (i < text.Length && text[i] != ',' && text[i] != '\n')
                    {
                        Assert.NotEqual('"', text[i]);
                        value.Append(text[i++]);
                    }
                }

                fields.Add(new Field(value.ToString(), quoted));
                Assert.True(i < text.Length, "the last record must end with a line feed");
                if (text[i++] == '\n')
                {
                    records.Add(new Record(fields.ToArray(), Encoding.UTF8.GetByteCount(text.AsSpan(recordStart, i - recordStart))));
                    fields.Clear();
                    recordStart = i;
                }
            }

            return records;
        }
    }
}

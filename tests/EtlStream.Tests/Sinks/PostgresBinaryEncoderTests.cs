using System.Numerics;
using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Sinks;
using EtlStream.Sinks.Postgres;
using EtlStream.Tests.Servers;

namespace EtlStream.Tests.Sinks;

public sealed class PostgresBinaryEncoderTests
{
    [Theory]
    [InlineData("150", 2, "0002 0000 0000 0002 0001 1388")]          // 1.50: groups 1 | 5000
    [InlineData("0", 2, "0000 0000 0000 0002")]                      // zero: no groups
    [InlineData("-1", 2, "0001 ffff 4000 0002 0064")]                // -0.01: one group 0100 at weight -1
    [InlineData("12345678", 0, "0002 0001 0000 0000 04d2 162e")]     // 1234 | 5678
    [InlineData("10000", 0, "0001 0001 0000 0000 0001")]             // trailing zero group left out
    [InlineData("1", 6, "0001 fffe 0000 0006 0064")]                 // 0.000001
    [InlineData("1000001", 6, "0003 0000 0000 0006 0001 0000 0064")] // 1.000001
    public void Numeric_IsBase10000GroupsAlignedAtThePoint(string unscaled, int scale, string hex)
    {
        Span<byte> dest = stackalloc byte[64];
        var n = PostgresBinaryEncoder.WriteNumeric(Int128.Parse(unscaled, System.Globalization.CultureInfo.InvariantCulture), scale, dest);
        Assert.Equal(hex.Replace(" ", "", StringComparison.Ordinal), Convert.ToHexStringLower(dest[..n]));
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresSinkTests(PostgresServer server)
{
    [Theory]
    [InlineData(38, 0)]
    [InlineData(38, 10)]
    [InlineData(38, 38)]
    [InlineData(5, 2)]
    public async Task Decimals_OfEveryPrecisionAndScale_RoundTrip(int precision, int scale)
    {
        var db = await server.CreateDatabaseAsync("num");
        var type = new Decimal128Type(precision, scale);
        var schema = new Schema.Builder().Field(new Field("d", type, true)).Build();
        var max = BigInteger.Pow(10, precision) - 1;
        BigInteger[] values = [max, -max, 0, 1, -1, BigInteger.Pow(10, Math.Max(0, precision - 3)) + 7];
        var builder = new Decimal128Array.Builder(type);
        foreach (var v in values)
        {
            builder.Append(ToSqlDecimal(v, (byte)precision, (byte)scale));
        }

        await using (var sink = new PostgresSink(new PostgresSinkOptions { ConnectionString = server.ConnectionString(db), Table = "n" }))
        {
            await sink.OpenAsync(schema, default);
            await sink.WriteAsync(new SinkChunk([new RecordBatch(schema, [builder.Build()], values.Length)]), default);
            await sink.CompleteAsync(default);
        }

        var texts = (await server.RowsAsync("SELECT d::text FROM n", db)).Select(r => (string)r[0]!).ToList();
        Assert.Equal(values.Select(v => Text(v, scale)), texts);
    }

    private static System.Data.SqlTypes.SqlDecimal ToSqlDecimal(BigInteger unscaled, byte precision, byte scale)
    {
        var negative = unscaled < 0;
        var bytes = BigInteger.Abs(unscaled).ToByteArray(isUnsigned: true, isBigEndian: false);
        var ints = new int[4];
        Buffer.BlockCopy(bytes, 0, ints, 0, bytes.Length);
        return new System.Data.SqlTypes.SqlDecimal(precision, scale, !negative, ints);
    }

    private static string Text(BigInteger unscaled, int scale)
    {
        var digits = BigInteger.Abs(unscaled).ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(scale + 1, '0');
        var text = scale == 0 ? digits : digits[..^scale] + "." + digits[^scale..];
        return (unscaled < 0 ? "-" : "") + text;
    }
}

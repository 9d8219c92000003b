using Apache.Arrow;
using Apache.Arrow.Types;

namespace EtlStream.Sinks.Sql;

/// <summary>Arrow dates and timestamps as CLR values, for checks and messages.</summary>
internal static class ArrowValues
{
    public const int UnixEpochDayNumber = 719162; // DateOnly(1970, 1, 1).DayNumber

    public static DateOnly ToDate(Date32Array array, int index) => DateOnly.FromDayNumber(UnixEpochDayNumber + array.Values[index]);

    /// <summary>A timestamp without time zone as an unspecified-kind <see cref="DateTime"/>, exact to the tick.</summary>
    public static DateTime ToDateTime(TimestampArray array, int index)
    {
        var value = array.Values[index];
        var ticks = ((TimestampType)array.Data.DataType).Unit switch
        {
            TimeUnit.Second => value * TimeSpan.TicksPerSecond,
            TimeUnit.Millisecond => value * TimeSpan.TicksPerMillisecond,
            TimeUnit.Microsecond => value * TimeSpan.TicksPerMicrosecond,
            _ => value / 100,
        };
        return new DateTime(DateTime.UnixEpoch.Ticks + ticks, DateTimeKind.Unspecified);
    }
}

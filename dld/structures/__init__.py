from .plate_data_sample import OptPlateSampleList, PlateDataSample, PlateSampleList

__all__ = ['PlateDataSample', 'PlateSampleList', 'OptPlateSampleList']

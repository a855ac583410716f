/** The DataAsk icon (a database with a question), themed through `jp-icon3`. */

import { LabIcon } from '@jupyterlab/ui-components';

import dataaskSvg from '../style/icons/dataask.svg';

export const dataaskIcon = new LabIcon({
  name: 'dataask-jupyter:dataask',
  svgstr: dataaskSvg
});
